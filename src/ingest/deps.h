// What the ingest pipeline runs on and talks to. Everything here is owned by
// app/ and outlives the ingest objects that hold these pointers.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/thread_pool.hpp>

#include "embed/embedder.h"
#include "parse/parser.h"
#include "store/blob_store.h"
#include "store/metadata_store.h"

namespace ragpdf::ingest {

struct IngestDeps {
  boost::asio::any_io_executor io;                     // single-threaded event loop
  boost::asio::thread_pool::executor_type parse_pool;  // parsers (mostly waiting on children)
  boost::asio::thread_pool::executor_type cpu_pool;    // chunking and embedding
  boost::asio::thread_pool::executor_type db_pool;     // blocking store and blob calls
  store::MetadataStore* store = nullptr;
  store::BlobStore* blobs = nullptr;
  const embed::EmbedderRegistry* models = nullptr;
  const parse::Parser* parser = nullptr;
};

}  // namespace ragpdf::ingest
