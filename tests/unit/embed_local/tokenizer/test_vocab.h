// The hand-written vocabulary the tokenizer tests use. It is also stored as
// tests/data/embed_local/tokenizer/bert_vocab/vocab.txt (id = line number);
// the two must stay equal.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ragpdf::embed::local::test_vocab {

inline const std::vector<std::string> kTestVocab = {
    "[PAD]",
    "[UNK]",
    "[CLS]",
    "[SEP]",
    "[MASK]",  // 0-4
    "hello",
    "world",
    ",",
    "!",
    "?",
    ".",
    "$",  // 5-11
    "un",
    "##aff",
    "##able",
    "want",
    "##ed",
    "runn",  // 12-17
    "##ing",
    "\u00bf",
    "\u2014",
    "que",
    "cafe",       // 18-22 (¿, em dash)
    "caf\u00e9",  // 23 (precomposed é)
    "\u4e2d",
    "\u56fd",
    "\u4eba",
    "\u4e2d\u56fd",                    // 24-27 (中 国 人 中国)
    "\u3053\u3093\u306b\u3061\u306f",  // 28 (こんにちは)
    "a",
    "##a",
    "\u00fc",
    "##\u00fc",
    "i",
    "##\u0307",  // 29-34 (ü, combining dot)
    "\u1112",
    "##\u1161",
    "##\u11ab",  // 35-37 (Hangul jamo)
    "the",       // 38
};

enum TestId : std::int32_t {
  kPad = 0,
  kUnk = 1,
  kCls = 2,
  kSep = 3,
  kHello = 5,
  kWorld = 6,
  kComma = 7,
  kBang = 8,
  kQuestion = 9,
  kPeriod = 10,
  kDollar = 11,
  kUn = 12,
  kAffSuffix = 13,
  kAbleSuffix = 14,
  kWant = 15,
  kEdSuffix = 16,
  kRunn = 17,
  kIngSuffix = 18,
  kInvertedQuestion = 19,
  kEmDash = 20,
  kQue = 21,
  kCafe = 22,
  kCafeAccented = 23,
  kZhong = 24,
  kGuo = 25,
  kRen = 26,
  kZhongGuo = 27,
  kKonnichiwa = 28,
  kA = 29,
  kASuffix = 30,
  kUUmlaut = 31,
  kUUmlautSuffix = 32,
  kI = 33,
  kDotAboveSuffix = 34,
  kHieuh = 35,
  kASuffixJamo = 36,
  kNieunSuffixJamo = 37,
  kThe = 38,
};

}  // namespace ragpdf::embed::local::test_vocab
