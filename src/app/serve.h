// `ragpdf serve`: wires the modules into a running server process, and with
// --workers N > 1 supervises N such processes sharing one port
// (SO_REUSEPORT) and one data directory.
#pragma once

#include "app/config.h"

namespace ragpdf::app {

// Runs one server process until SIGINT/SIGTERM. Returns the exit code.
int RunWorker(const ServeConfig& config, bool reuse_port);
// Forks config.workers worker processes (before any thread exists), restarts
// a worker that dies unexpectedly, forwards SIGINT/SIGTERM and waits for all.
int RunSupervisor(const ServeConfig& config);

}  // namespace ragpdf::app
