#include "store/sqlite_store.h"

#include <chrono>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "store_test_util.h"

namespace ragpdf::store {
namespace {

using common::ErrorCode;
using common::FileStatus;
using ::testing::ElementsAre;
using testing::FileId;
using testing::Numbered;
using testing::RawDb;
using testing::TempDir;
using namespace std::chrono_literals;

constexpr auto kLongLease = std::chrono::milliseconds(60'000);

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  void Reopen(std::size_t max_table_rows = 1'000'000,
              std::chrono::milliseconds busy_timeout = 5000ms) {
    store_.reset();
    SqliteStoreOptions options;
    options.db_path = db_path();
    options.tabular_db_path = tabular_path();
    options.max_table_rows = max_table_rows;
    options.busy_timeout = busy_timeout;
    auto store = SqliteStore::Open(options);
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(*store);
  }

  std::filesystem::path db_path() const { return dir_.path() / "ragpdf.db"; }
  std::filesystem::path tabular_path() const { return dir_.path() / "tabular_data.db"; }

  FileRecord AddFile(const std::string& seed, const std::string& filename = "doc.pdf") {
    FileRecord file;
    file.file_id = FileId(seed);
    file.filename = filename;
    file.format = common::FileFormat::kPdf;
    file.kind = common::FileKind::kDocument;
    file.size_bytes = 1234;
    auto stored = store_->UpsertFile(file);
    EXPECT_TRUE(stored) << stored.error().message;
    return stored.value_or(FileRecord{});
  }

  // Claims (file, model) for `worker` and commits the given chunk texts with
  // 3-dimensional vectors {i, -i, 0.5}, plus `tasks`.
  void Index(const std::string& file_id, const std::string& model,
             const std::vector<std::string>& texts, std::vector<NewTask> tasks = {}) {
    auto claim = store_->TryClaim(file_id, model, "indexer", kLongLease);
    ASSERT_TRUE(claim) << claim.error().message;
    ASSERT_EQ(claim->outcome, ClaimOutcome::kClaimed);
    auto commit = MakeCommit(file_id, model, "indexer", texts);
    commit.tasks = std::move(tasks);
    auto committed = store_->CommitIndex(commit);
    ASSERT_TRUE(committed) << committed.error().message;
  }

  static IndexCommit MakeCommit(const std::string& file_id, const std::string& model,
                                const std::string& worker, const std::vector<std::string>& texts) {
    IndexCommit commit{file_id, model, worker, 2, {}, 3, {}, {}};
    for (std::size_t i = 0; i < texts.size(); ++i) {
      const int index = static_cast<int>(i);
      commit.chunks.push_back({file_id, model, index, texts[i], index + 1, index + 2, 7});
      commit.vectors.insert(commit.vectors.end(),
                            {static_cast<float>(i), -static_cast<float>(i), 0.5f});
    }
    return commit;
  }

  // Rows of `table` for `file_id`, read directly from the database file.
  std::int64_t CountRows(const std::string& table, const std::string& file_id) {
    RawDb db(db_path());
    return db.Int("SELECT count(*) FROM " + table + " WHERE file_id = ?1", file_id);
  }

  // Terms in the FTS index itself (not its content table) and whether the
  // index agrees with the content table.
  std::int64_t FtsTerms() {
    RawDb db(db_path());
    db.Exec("CREATE VIRTUAL TABLE temp.vocab USING fts5vocab('main', 'chunks_fts', 'row')");
    db.Exec("INSERT INTO chunks_fts(chunks_fts, rank) VALUES ('integrity-check', 1)");
    return db.Int("SELECT count(*) FROM temp.vocab");
  }

  std::int64_t FtsMatches(const std::string& term) {
    RawDb db(db_path());
    return db.Int("SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH ?1", term);
  }

  TempDir dir_;
  std::unique_ptr<SqliteStore> store_;
};

// --- files and owners ---

TEST_F(SqliteStoreTest, UpsertFileKeepsTheFirstFilename) {
  const FileRecord first = AddFile("a", "first.pdf");
  EXPECT_EQ(first.filename, "first.pdf");
  EXPECT_GT(first.created_at_ms, 0);
  const FileRecord second = AddFile("a", "second.pdf");
  EXPECT_EQ(second.filename, "first.pdf");
  EXPECT_EQ(second.created_at_ms, first.created_at_ms);

  auto got = store_->GetFile(FileId("a"));
  ASSERT_TRUE(got && got->has_value());
  EXPECT_EQ((*got)->filename, "first.pdf");
  EXPECT_EQ((*got)->format, common::FileFormat::kPdf);
  EXPECT_EQ((*got)->kind, common::FileKind::kDocument);
  EXPECT_EQ((*got)->size_bytes, 1234);

  auto missing = store_->GetFile(FileId("nope"));
  ASSERT_TRUE(missing);
  EXPECT_FALSE(missing->has_value());
}

TEST_F(SqliteStoreTest, OwnersAreIdempotentAndCounted) {
  const std::string id = AddFile("a").file_id;
  ASSERT_TRUE(store_->AddOwner(id, "alice"));
  ASSERT_TRUE(store_->AddOwner(id, "alice"));
  ASSERT_TRUE(store_->AddOwner(id, "bob"));
  EXPECT_THAT(store_->ListOwners(id).value(), ElementsAre("alice", "bob"));

  auto unknown = store_->AddOwner(FileId("nope"), "alice");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);

  EXPECT_EQ(store_->RemoveOwner(id, "alice").value(), 1);
  EXPECT_EQ(store_->RemoveOwner(id, "alice").value(), 1);
  EXPECT_EQ(store_->RemoveOwner(id, "bob").value(), 0);
  EXPECT_TRUE(store_->ListOwners(id).value().empty());
}

// --- claims and the status machine ---

TEST_F(SqliteStoreTest, FirstClaimWinsSecondWorkerWaits) {
  const std::string id = AddFile("a").file_id;
  auto first = store_->TryClaim(id, "m", "w1", kLongLease);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->outcome, ClaimOutcome::kClaimed);
  EXPECT_EQ(first->state.status, FileStatus::kInProgress);
  EXPECT_EQ(first->state.worker_id, "w1");

  auto second = store_->TryClaim(id, "m", "w2", kLongLease);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->outcome, ClaimOutcome::kHeldByOther);
  EXPECT_EQ(second->state.worker_id, "w1");

  // Another model of the same file is independent.
  EXPECT_EQ(store_->TryClaim(id, "m2", "w2", kLongLease)->outcome, ClaimOutcome::kClaimed);

  auto unknown = store_->TryClaim(FileId("nope"), "m", "w1", kLongLease);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
}

TEST_F(SqliteStoreTest, ExpiredLeaseIsTakenOverAndOldWorkerIsInterrupted) {
  const std::string id = AddFile("a").file_id;
  ASSERT_EQ(store_->TryClaim(id, "m", "w1", 1ms)->outcome, ClaimOutcome::kClaimed);
  std::this_thread::sleep_for(20ms);

  auto expired = store_->ListExpiredLeases();
  ASSERT_TRUE(expired);
  ASSERT_EQ(expired->size(), 1u);
  EXPECT_EQ((*expired)[0].worker_id, "w1");

  auto takeover = store_->TryClaim(id, "m", "w2", kLongLease);
  ASSERT_TRUE(takeover);
  EXPECT_EQ(takeover->outcome, ClaimOutcome::kClaimed);
  EXPECT_EQ(takeover->state.worker_id, "w2");
  EXPECT_TRUE(store_->ListExpiredLeases()->empty());

  auto stale = store_->CommitIndex(MakeCommit(id, "m", "w1", {"zebra text"}));
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code, ErrorCode::kInterrupted);
  EXPECT_EQ(CountRows("chunks", id), 0);
  EXPECT_EQ(CountRows("vectors", id), 0);
  EXPECT_EQ(FtsMatches("zebra"), 0);
  EXPECT_EQ(store_->GetState(id, "m")->value().status, FileStatus::kInProgress);

  auto renew_old = store_->RenewLease(id, "m", "w1", kLongLease);
  ASSERT_FALSE(renew_old);
  EXPECT_EQ(renew_old.error().code, ErrorCode::kInterrupted);
  EXPECT_TRUE(store_->RenewLease(id, "m", "w2", kLongLease));
}

TEST_F(SqliteStoreTest, CommittedFileIsReadyThenCompleted) {
  const std::string id = AddFile("a").file_id;
  Index(id, "m", {"one", "two"});
  auto state = store_->GetState(id, "m").value().value();
  EXPECT_EQ(state.status, FileStatus::kReadyForChat);
  EXPECT_EQ(state.pages, 2);
  EXPECT_EQ(state.chunks, 2);

  auto claim = store_->TryClaim(id, "m", "w9", kLongLease);
  ASSERT_TRUE(claim);
  EXPECT_EQ(claim->outcome, ClaimOutcome::kReady);

  ASSERT_TRUE(store_->MarkCompleted(id, "m"));
  ASSERT_TRUE(store_->MarkCompleted(id, "m"));  // no-op
  EXPECT_EQ(store_->GetState(id, "m")->value().status, FileStatus::kCompleted);
  EXPECT_EQ(store_->TryClaim(id, "m", "w9", kLongLease)->outcome, ClaimOutcome::kReady);
  EXPECT_THAT(store_->ListStates(id).value(), ::testing::SizeIs(1));
}

TEST_F(SqliteStoreTest, ErrorStateIsClaimableAgain) {
  const std::string id = AddFile("a").file_id;
  ASSERT_TRUE(store_->TryClaim(id, "m", "w1", kLongLease));
  ASSERT_TRUE(store_->MarkError(id, "m", {ErrorCode::kParseFailed, "boom"}));
  auto state = store_->GetState(id, "m").value().value();
  EXPECT_EQ(state.status, FileStatus::kError);
  ASSERT_TRUE(state.error.has_value());
  EXPECT_EQ(state.error->code, ErrorCode::kParseFailed);
  EXPECT_EQ(state.error->message, "boom");

  auto retry = store_->TryClaim(id, "m", "w2", kLongLease);
  ASSERT_TRUE(retry);
  EXPECT_EQ(retry->outcome, ClaimOutcome::kClaimed);
  EXPECT_EQ(retry->state.worker_id, "w2");
  EXPECT_FALSE(retry->state.error.has_value());
}

TEST_F(SqliteStoreTest, IllegalTransitionsAreRejected) {
  const std::string id = AddFile("a").file_id;
  // not_started -> error / completed
  EXPECT_EQ(store_->MarkError(id, "m", {ErrorCode::kNoText, "x"}).error().code,
            ErrorCode::kInternal);
  EXPECT_EQ(store_->MarkCompleted(id, "m").error().code, ErrorCode::kInternal);
  // in_progress -> completed
  ASSERT_TRUE(store_->TryClaim(id, "m", "w1", kLongLease));
  EXPECT_EQ(store_->MarkCompleted(id, "m").error().code, ErrorCode::kInternal);
  // error -> error, error -> completed
  ASSERT_TRUE(store_->MarkError(id, "m", {ErrorCode::kNoText, "x"}));
  EXPECT_EQ(store_->MarkError(id, "m", {ErrorCode::kNoText, "y"}).error().code,
            ErrorCode::kInternal);
  EXPECT_EQ(store_->MarkCompleted(id, "m").error().code, ErrorCode::kInternal);
  // completed -> error
  const std::string done = AddFile("b").file_id;
  Index(done, "m", {"text"});
  ASSERT_TRUE(store_->MarkCompleted(done, "m"));
  EXPECT_EQ(store_->MarkError(done, "m", {ErrorCode::kNoText, "x"}).error().code,
            ErrorCode::kInternal);
  // Rejected calls changed nothing.
  EXPECT_EQ(store_->GetState(id, "m")->value().error->message, "x");
  EXPECT_EQ(store_->GetState(done, "m")->value().status, FileStatus::kCompleted);
}

TEST_F(SqliteStoreTest, MalformedCommitIsRejected) {
  const std::string id = AddFile("a").file_id;
  ASSERT_TRUE(store_->TryClaim(id, "m", "w1", kLongLease));
  auto commit = MakeCommit(id, "m", "w1", {"a", "b"});
  commit.vectors.pop_back();
  EXPECT_EQ(store_->CommitIndex(commit).error().code, ErrorCode::kInternal);
  commit = MakeCommit(id, "m", "w1", {"a", "b"});
  commit.chunks[1].chunk_index = 5;
  EXPECT_EQ(store_->CommitIndex(commit).error().code, ErrorCode::kInternal);
  EXPECT_EQ(CountRows("chunks", id), 0);
}

// --- index visibility ---

TEST_F(SqliteStoreTest, CommitMakesChunksVectorsAndFtsVisibleTogether) {
  const std::string id = AddFile("a").file_id;
  ASSERT_TRUE(store_->TryClaim(id, "m", "w1", kLongLease));
  IndexCommit commit{id, "m", "w1", 4, {}, 2, {}, {}};
  commit.chunks = {{id, "m", 0, "alpha aardvark", 1, 1, 3},
                   {id, "m", 1, "beta bison", 1, 2, 4},
                   {id, "m", 2, "gamma gazelle", 3, 4, 5}};
  commit.vectors = {0.1f, -3.5f, 1e-30f, std::numeric_limits<float>::max(), -0.0f, 42.0f};
  ASSERT_TRUE(store_->CommitIndex(commit));

  auto vectors = store_->LoadVectors(id, "m");
  ASSERT_TRUE(vectors && vectors->has_value());
  EXPECT_EQ((*vectors)->dimension, 2);
  EXPECT_EQ((*vectors)->count(), 3u);
  EXPECT_EQ((*vectors)->data, commit.vectors);  // bit-exact floats
  EXPECT_FALSE(store_->LoadVectors(id, "other")->has_value());

  auto chunks = store_->GetChunks("m", {{id, 2}, {id, 0}, {id, 99}, {FileId("x"), 0}, {id, 1}});
  ASSERT_TRUE(chunks);
  ASSERT_EQ(chunks->size(), 3u);
  EXPECT_EQ((*chunks)[0].text, "gamma gazelle");
  EXPECT_EQ((*chunks)[0].page_start, 3);
  EXPECT_EQ((*chunks)[0].page_end, 4);
  EXPECT_EQ((*chunks)[0].token_count, 5);
  EXPECT_EQ((*chunks)[1].text, "alpha aardvark");
  EXPECT_EQ((*chunks)[2].text, "beta bison");
  EXPECT_TRUE(store_->GetChunks("other", {{id, 0}})->empty());

  auto hits = store_->KeywordSearch("bison", {id}, "m", 10);
  ASSERT_TRUE(hits);
  ASSERT_EQ(hits->size(), 1u);
  EXPECT_EQ((*hits)[0].chunk_index, 1);
  EXPECT_EQ(FtsMatches("gazelle"), 1);
}

TEST_F(SqliteStoreTest, MarkErrorRemovesChunksVectorsFtsAndTasks) {
  const std::string id = AddFile("a").file_id;
  const std::string keep = AddFile("b").file_id;
  Index(keep, "m", {"unrelated words"});
  const std::int64_t terms_before = FtsTerms();
  Index(id, "m", {"zebra crossing", "quokka smile"}, {{"export_embeddings", "{}"}});
  ASSERT_GT(FtsTerms(), terms_before);
  ASSERT_EQ(store_->PendingTasks(id, "m").value(), 1);

  ASSERT_TRUE(store_->MarkError(id, "m", {ErrorCode::kEmbeddingFailed, "late failure"}));
  EXPECT_EQ(CountRows("chunks", id), 0);
  EXPECT_EQ(CountRows("vectors", id), 0);
  EXPECT_EQ(FtsMatches("zebra OR quokka"), 0);
  EXPECT_EQ(FtsTerms(), terms_before);  // the index holds only the other file's terms
  EXPECT_EQ(store_->PendingTasks(id, "m").value(), 0);
  EXPECT_TRUE(store_->KeywordSearch("zebra", {id}, "m", 10)->empty());
  EXPECT_FALSE(store_->LoadVectors(id, "m")->has_value());
  auto state = store_->GetState(id, "m").value().value();
  EXPECT_EQ(state.status, FileStatus::kError);
  EXPECT_EQ(state.chunks, 0);
  // The other file is untouched.
  EXPECT_EQ(CountRows("chunks", keep), 1);
}

// --- keyword search ---

class KeywordSearchTest : public SqliteStoreTest {
 protected:
  void SetUp() override {
    SqliteStoreTest::SetUp();
    a_ = AddFile("a").file_id;
    b_ = AddFile("b").file_id;
    c_ = AddFile("c").file_id;
    Index(a_, "m",
          {"the quick brown fox jumps over the lazy dog", "a zebra crossing near the old station",
           "nothing relevant in this chunk at all"});
    Index(b_, "m", {"one zebra somewhere in a long sentence about many other things entirely"});
    Index(c_, "m", {"zebra crossing zebra crossing zebra crossing"});
    Index(a_, "m2", {"zebra crossing zebra crossing zebra crossing zebra"});
  }
  std::string a_, b_, c_;
};

TEST_F(KeywordSearchTest, RanksThePhraseChunkFirstWithinNamedFilesAndModel) {
  auto hits = store_->KeywordSearch("Zebra crossing?", {a_, b_}, "m", 10);
  ASSERT_TRUE(hits) << hits.error().message;
  ASSERT_EQ(hits->size(), 2u);  // not c_ (not named), not a_ under m2
  EXPECT_EQ((*hits)[0].file_id, a_);
  EXPECT_EQ((*hits)[0].chunk_index, 1);
  EXPECT_EQ((*hits)[1].file_id, b_);
  EXPECT_GT((*hits)[0].score, (*hits)[1].score);
  EXPECT_GT((*hits)[1].score, 0);

  auto limited = store_->KeywordSearch("zebra crossing", {a_, b_, c_}, "m", 1);
  ASSERT_TRUE(limited);
  ASSERT_EQ(limited->size(), 1u);
  EXPECT_EQ((*limited)[0].file_id, c_);

  auto other_model = store_->KeywordSearch("zebra", {a_, b_, c_}, "m2", 10);
  ASSERT_EQ(other_model->size(), 1u);
  EXPECT_EQ((*other_model)[0].file_id, a_);
  EXPECT_EQ((*other_model)[0].chunk_index, 0);

  EXPECT_TRUE(store_->KeywordSearch("zebra", {}, "m", 10)->empty());
  EXPECT_TRUE(store_->KeywordSearch("zebra", {a_}, "m", 0)->empty());
}

TEST_F(KeywordSearchTest, DiacriticsAndCaseAreFolded) {
  auto hits = store_->KeywordSearch("ZÉBRA", {a_}, "m", 10);
  ASSERT_TRUE(hits);
  ASSERT_EQ(hits->size(), 1u);
  EXPECT_EQ((*hits)[0].chunk_index, 1);
}

TEST_F(KeywordSearchTest, HostileQueriesNeverError) {
  const std::vector<std::string> queries = {"\"",
                                            "\"zebra",
                                            "*",
                                            "zebra*",
                                            "NEAR(",
                                            "NEAR(zebra fox, 2)",
                                            "a:b",
                                            "text:zebra",
                                            "AND OR NOT",
                                            "",
                                            "   ",
                                            "()",
                                            "^zebra",
                                            "-zebra",
                                            "+",
                                            "zebra AND",
                                            "{text}: x",
                                            "'; DROP TABLE chunks; --",
                                            "zébra 😀 日本語",
                                            "\xff\xfe\x80",
                                            "—",
                                            std::string(100'000, 'x'),
                                            "a\"\"b",
                                            "col:\"zebra\" OR (fox NOT dog)"};
  for (const auto& q : queries) {
    auto hits = store_->KeywordSearch(q, {a_, b_, c_}, "m", 10);
    EXPECT_TRUE(hits) << "query: " << q.substr(0, 40) << " -> " << hits.error().message;
  }
  // Operator characters are separators, so the words still match.
  auto column_syntax = store_->KeywordSearch("crossing:zebra", {a_}, "m", 10);
  ASSERT_TRUE(column_syntax);
  ASSERT_EQ(column_syntax->size(), 1u);
  EXPECT_EQ((*column_syntax)[0].chunk_index, 1);
  EXPECT_TRUE(store_->KeywordSearch("*()\"", {a_}, "m", 10)->empty());
  EXPECT_EQ(CountRows("chunks", a_), 4);  // still there after the "DROP TABLE" query
}

// --- tasks ---

TEST_F(SqliteStoreTest, TasksAreClaimedCompletedAndRetried) {
  const std::string id = AddFile("a").file_id;
  Index(id, "m", {"text"}, {{"copy_raw", R"({"n":1})"}, {"export_embeddings", "{}"}});
  EXPECT_EQ(store_->PendingTasks(id, "m").value(), 2);

  auto first = store_->ClaimTask("w1", kLongLease).value();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->kind, "copy_raw");
  EXPECT_EQ(first->file_id, id);
  EXPECT_EQ(first->model, "m");
  EXPECT_EQ(first->payload, R"({"n":1})");
  EXPECT_EQ(first->attempts, 0);
  auto second = store_->ClaimTask("w2", kLongLease).value();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->kind, "export_embeddings");
  EXPECT_FALSE(store_->ClaimTask("w3", kLongLease).value().has_value());  // both leased

  ASSERT_TRUE(store_->CompleteTask(first->id));
  EXPECT_EQ(store_->PendingTasks(id, "m").value(), 1);
  ASSERT_TRUE(store_->CompleteTask(12345));  // unknown id: no-op

  ASSERT_TRUE(store_->RetryTask(second->id, 0ms, "disk full"));
  auto again = store_->ClaimTask("w3", kLongLease).value();
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->id, second->id);
  EXPECT_EQ(again->attempts, 1);
  RawDb db(db_path());
  EXPECT_EQ(
      db.Rows("SELECT last_error, worker_id FROM tasks WHERE id = " + std::to_string(again->id)),
      "disk full|w3\n");

  ASSERT_TRUE(store_->RetryTask(again->id, 3'600'000ms, "later"));
  EXPECT_FALSE(store_->ClaimTask("w4", kLongLease).value().has_value());  // not due yet
  EXPECT_EQ(store_->PendingTasks(id, "m").value(), 1);
}

TEST_F(SqliteStoreTest, TaskWithExpiredLeaseIsReclaimed) {
  const std::string id = AddFile("a").file_id;
  Index(id, "m", {"text"}, {{"finalize", "{}"}});
  auto first = store_->ClaimTask("w1", 1ms).value();
  ASSERT_TRUE(first.has_value());
  std::this_thread::sleep_for(20ms);
  auto again = store_->ClaimTask("w2", kLongLease).value();
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->id, first->id);
  EXPECT_EQ(again->attempts, 1);  // the dead holder's attempt counts
  EXPECT_FALSE(store_->ClaimTask("w3", kLongLease).value().has_value());
  ASSERT_TRUE(store_->CompleteTask(again->id));
  EXPECT_EQ(store_->PendingTasks(id, "m").value(), 0);
}

// --- deletion ---

TEST_F(SqliteStoreTest, DeleteFileRemovesEveryRow) {
  const std::string id = AddFile("a").file_id;
  const std::string keep = AddFile("b").file_id;
  ASSERT_TRUE(store_->AddOwner(id, "alice"));
  ASSERT_TRUE(store_->AddOwner(keep, "bob"));
  Index(id, "m", {"zebra one", "zebra two"}, {{"copy_raw", "{}"}});
  Index(id, "m2", {"zebra three"});
  Index(keep, "m", {"kept words"});
  ASSERT_TRUE(store_->StoreTable(id, {{"h"}, {{"v"}}}));
  const std::int64_t keep_chunks = [&] {
    RawDb db(db_path());
    return db.Int("SELECT count(*) FROM chunks WHERE file_id = ?1", keep);
  }();

  ASSERT_TRUE(store_->DeleteFile(id));
  for (const char* table : {"files", "owners", "file_models", "chunks", "vectors", "tasks"}) {
    EXPECT_EQ(CountRows(table, id), 0) << table;
  }
  EXPECT_EQ(FtsMatches("zebra"), 0);
  EXPECT_EQ(FtsMatches("kept"), 1);
  EXPECT_EQ(CountRows("chunks", keep), keep_chunks);
  EXPECT_EQ(CountRows("owners", keep), 1);
  RawDb tabular(tabular_path());
  EXPECT_EQ(tabular.Int("SELECT count(*) FROM table_registry"), 0);
  EXPECT_EQ(tabular.Int("SELECT count(*) FROM sqlite_master WHERE name GLOB 't_*'"), 0);
  ASSERT_TRUE(store_->DeleteFile(id));  // idempotent
}

// --- tables ---

TEST_F(SqliteStoreTest, StoreTableCreatesSanitizedDedupedColumns) {
  const std::string id = FileId("table");
  common::Table table;
  table.header = {"Name", "e-mail", "", "name", "Prix (€)", "NAME", "a\"b"};
  for (int r = 0; r < 50; ++r) {
    std::vector<std::string> row;
    for (int c = 0; c < 7; ++c) row.push_back(Numbered(Numbered("r", r) + "c", c));
    table.rows.push_back(row);
  }
  auto name = store_->StoreTable(id, table);
  ASSERT_TRUE(name) << name.error().message;
  EXPECT_EQ(*name, "t_" + id.substr(0, 16));

  RawDb db(tabular_path());
  EXPECT_EQ(db.Rows("SELECT name, type FROM pragma_table_info('" + *name + "')"),
            "Name|TEXT\ne_mail|TEXT\ncol_3|TEXT\nname_2|TEXT\nPrix____|TEXT\nNAME_3|TEXT\n"
            "a_b|TEXT\n");
  EXPECT_EQ(db.Int("SELECT count(*) FROM \"" + *name + "\""), 50);
  EXPECT_EQ(db.Rows("SELECT \"Name\", \"NAME_3\", a_b FROM \"" + *name + "\" WHERE rowid = 42"),
            "r41c0|r41c5|r41c6\n");
  EXPECT_EQ(db.Rows("SELECT table_name, columns, row_count FROM table_registry"),
            *name + R"(|["Name","e_mail","col_3","name_2","Prix____","NAME_3","a_b"]|50)" + "\n");

  // Replacing drops the old columns and rows.
  ASSERT_TRUE(store_->StoreTable(id, {{"x"}, {{"1"}, {"2"}}}));
  EXPECT_EQ(db.Rows("SELECT name FROM pragma_table_info('" + *name + "')"), "x\n");
  EXPECT_EQ(db.Rows("SELECT x FROM \"" + *name + "\" ORDER BY x"), "1\n2\n");
  EXPECT_EQ(db.Int("SELECT row_count FROM table_registry"), 2);
}

TEST_F(SqliteStoreTest, StoreTableRejectsBadTablesWithoutPartialWrites) {
  Reopen(/*max_table_rows=*/3);
  const std::string id = FileId("table");
  ASSERT_TRUE(store_->StoreTable(id, {{"x"}, {{"keep"}}}));

  auto ragged = store_->StoreTable(id, {{"a", "b"}, {{"1", "2"}, {"3"}}});
  ASSERT_FALSE(ragged);
  EXPECT_EQ(ragged.error().code, ErrorCode::kInvalidTable);
  auto too_many = store_->StoreTable(id, {{"a"}, {{"1"}, {"2"}, {"3"}, {"4"}}});
  ASSERT_FALSE(too_many);
  EXPECT_EQ(too_many.error().code, ErrorCode::kInvalidTable);
  EXPECT_EQ(store_->StoreTable(id, {{}, {}}).error().code, ErrorCode::kInvalidTable);
  EXPECT_EQ(store_->StoreTable("not-a-file-id", {{"a"}, {}}).error().code, ErrorCode::kBadRequest);

  RawDb db(tabular_path());
  const std::string name = "t_" + id.substr(0, 16);
  EXPECT_EQ(db.Rows("SELECT x FROM \"" + name + "\""), "keep\n");
  EXPECT_EQ(db.Int("SELECT row_count FROM table_registry"), 1);
}

// --- errors and lifecycle ---

TEST_F(SqliteStoreTest, LockedDatabaseIsStorageBusy) {
  Reopen(1'000'000, /*busy_timeout=*/50ms);
  const std::string id = AddFile("a").file_id;
  RawDb other(db_path());
  ASSERT_TRUE(other.Exec("BEGIN IMMEDIATE"));
  auto busy = store_->AddOwner(id, "alice");
  ASSERT_FALSE(busy);
  EXPECT_EQ(busy.error().code, ErrorCode::kStorageBusy);
  EXPECT_TRUE(common::IsTransient(busy.error().code));
  // Readers are not blocked by a writer in WAL mode.
  EXPECT_TRUE(store_->GetFile(id).value().has_value());
  ASSERT_TRUE(other.Exec("COMMIT"));
  EXPECT_TRUE(store_->AddOwner(id, "alice"));
}

TEST_F(SqliteStoreTest, DataSurvivesReopenInWalMode) {
  const std::string id = AddFile("a").file_id;
  Index(id, "m", {"persisted words"});
  Reopen();
  EXPECT_EQ(store_->GetState(id, "m")->value().status, FileStatus::kReadyForChat);
  EXPECT_EQ(store_->KeywordSearch("persisted", {id}, "m", 5)->size(), 1u);
  RawDb db(db_path());
  EXPECT_EQ(db.Rows("PRAGMA journal_mode"), "wal\n");
  EXPECT_EQ(db.Int("PRAGMA user_version"), 1);
}

TEST_F(SqliteStoreTest, NewerSchemaIsRefused) {
  store_.reset();
  {
    RawDb db(db_path());
    ASSERT_TRUE(db.Exec("PRAGMA user_version = 99"));
  }
  SqliteStoreOptions options{db_path(), tabular_path()};
  auto store = SqliteStore::Open(options);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, ErrorCode::kStorageError);
}

TEST_F(SqliteStoreTest, ConcurrentThreadsShareThePool) {
  const std::string id = AddFile("shared").file_id;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        const std::string user = Numbered(Numbered("u", t) + "_", i);
        if (!store_->AddOwner(id, user) || !store_->ListOwners(id)) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(store_->ListOwners(id)->size(), 200u);
}

}  // namespace
}  // namespace ragpdf::store
