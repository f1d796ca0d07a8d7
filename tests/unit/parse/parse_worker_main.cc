// The PDF worker for tests: the same entry point the ragpdf binary exposes as
// `ragpdf parse-worker`.
#include "parse/parser.h"

int main(int argc, char** argv) { return ragpdf::parse::RunParseWorker(argc, argv); }
