// Reading a Hugging Face / sentence-transformers BERT model directory:
// config.json, modules.json, the pooling module's config.json and
// model.safetensors, into a BertConfig and the encoder's weights (fp32,
// fused and laid out for the chosen BertOps).
//
// Ownership: plain values. Thread-safety: functions are reentrant.
// Errors: kBadRequest naming the file (and tensor) and the problem.
#pragma once

#include <filesystem>
#include <vector>

#include "common/error.h"
#include "embed/local/bert_encoder.h"
#include "embed/local/bert_ops.h"

namespace ragpdf::embed::local {

struct BertLayerWeights {
  LinearWeight qkv;  // [3H x H]: query (pre-scaled by 1/sqrt(head_dim)), key, value
  std::vector<float> qkv_bias;
  LinearWeight attention_output;
  std::vector<float> attention_output_bias;
  std::vector<float> attention_norm_gamma;
  std::vector<float> attention_norm_beta;
  LinearWeight intermediate;
  std::vector<float> intermediate_bias;
  LinearWeight output;
  std::vector<float> output_bias;
  std::vector<float> output_norm_gamma;
  std::vector<float> output_norm_beta;
};

struct BertWeights {
  std::vector<float> word_embeddings;  // vocab x H
  // position x H: position embedding plus token type 0 (the only type used).
  std::vector<float> position_embeddings;
  std::vector<float> embedding_norm_gamma;
  std::vector<float> embedding_norm_beta;
  std::vector<BertLayerWeights> layers;
};

// config.json, modules.json and the pooling config.
common::Result<BertConfig> ReadBertConfig(const std::filesystem::path& dir);

// model.safetensors, every tensor checked against `config`.
common::Result<BertWeights> LoadBertWeights(const std::filesystem::path& dir,
                                            const BertConfig& config, const BertOps& ops);

}  // namespace ragpdf::embed::local
