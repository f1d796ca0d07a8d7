// Several processes sharing one data directory, as `ragpdf --workers N` does.
// Children are forked while the parent holds no open store (SQLite
// connections must not cross fork()); each child opens its own store, waits
// on a start pipe so all of them hit the database at once, reports through a
// result pipe and leaves with _exit.
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "store/sqlite_store.h"
#include "store_test_util.h"

namespace ragpdf::store {
namespace {

using testing::FileId;
using testing::Numbered;
using testing::TempDir;

constexpr int kProcesses = 4;

SqliteStoreOptions OptionsFor(const TempDir& dir) {
  SqliteStoreOptions options;
  options.db_path = dir.path() / "ragpdf.db";
  options.tabular_db_path = dir.path() / "tabular_data.db";
  return options;
}

// Blocks until the parent closes the write end of the start pipe.
void WaitForStart(int fd) {
  char c;
  while (::read(fd, &c, 1) > 0) {
  }
}

void WriteAll(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) return;
    done += static_cast<std::size_t>(n);
  }
}

// Forks kProcesses children running `body(index, start_fd)`, which returns
// the child's report. Returns the reports in child order; a child that
// crashed or exited non-zero fails the test.
std::vector<std::string> RunChildren(const std::function<std::string(int, int)>& body) {
  int start[2];
  EXPECT_EQ(::pipe(start), 0);
  std::vector<pid_t> pids;
  std::vector<int> result_fds;
  for (int i = 0; i < kProcesses; ++i) {
    int result[2];
    EXPECT_EQ(::pipe(result), 0);
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::close(start[1]);
      ::close(result[0]);
      WriteAll(result[1], body(i, start[0]));
      ::_exit(0);
    }
    ::close(result[1]);
    pids.push_back(pid);
    result_fds.push_back(result[0]);
  }
  ::close(start[0]);
  ::close(start[1]);  // go
  std::vector<std::string> reports;
  for (int i = 0; i < kProcesses; ++i) {
    std::string report;
    char buffer[4096];
    ssize_t n;
    while ((n = ::read(result_fds[i], buffer, sizeof buffer)) > 0) report.append(buffer, n);
    ::close(result_fds[i]);
    int status = 0;
    EXPECT_EQ(::waitpid(pids[i], &status, 0), pids[i]);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child " << i;
    reports.push_back(report);
  }
  return reports;
}

TEST(SqliteStoreMultiProcessTest, ExactlyOneProcessClaimsEachFile) {
  TempDir dir;
  constexpr int kFiles = 20;
  {
    auto store = SqliteStore::Open(OptionsFor(dir));
    ASSERT_TRUE(store) << store.error().message;
    for (int f = 0; f < kFiles; ++f) {
      FileRecord file;
      file.file_id = FileId(std::to_string(f));
      file.filename = "f.pdf";
      ASSERT_TRUE((*store)->UpsertFile(file));
    }
  }  // closed before fork

  // Each child reports one letter per file: C(laimed), H(eld by other),
  // R(eady), or "E<message>;" for an error.
  auto reports = RunChildren([&](int index, int start_fd) {
    auto store = SqliteStore::Open(OptionsFor(dir));
    if (!store) return "E" + store.error().message + ";";
    WaitForStart(start_fd);
    std::string report;
    for (int f = 0; f < kFiles; ++f) {
      auto claim = (*store)->TryClaim(FileId(std::to_string(f)), "m", Numbered("w", index),
                                      std::chrono::minutes(1));
      if (!claim) {
        report += "E" + claim.error().message + ";";
        continue;
      }
      report += claim->outcome == ClaimOutcome::kClaimed       ? 'C'
                : claim->outcome == ClaimOutcome::kHeldByOther ? 'H'
                                                               : 'R';
    }
    return report;
  });

  auto store = SqliteStore::Open(OptionsFor(dir));
  ASSERT_TRUE(store);
  for (int f = 0; f < kFiles; ++f) {
    int claimed = 0;
    int winner = -1;
    for (int p = 0; p < kProcesses; ++p) {
      ASSERT_EQ(reports[p].size(), static_cast<std::size_t>(kFiles)) << reports[p];
      if (reports[p][f] == 'C') {
        ++claimed;
        winner = p;
      } else {
        EXPECT_EQ(reports[p][f], 'H');
      }
    }
    EXPECT_EQ(claimed, 1) << "file " << f;
    auto state = (*store)->GetState(FileId(std::to_string(f)), "m");
    ASSERT_TRUE(state && state->has_value());
    EXPECT_EQ((*state)->worker_id, Numbered("w", winner));
  }
}

TEST(SqliteStoreMultiProcessTest, ConcurrentWritersNeverSeeBusy) {
  TempDir dir;  // empty: the children also race to create the schema
  constexpr int kFiles = 100;
  auto reports = RunChildren([&](int index, int start_fd) -> std::string {
    WaitForStart(start_fd);
    auto store = SqliteStore::Open(OptionsFor(dir));
    if (!store) return "open: " + store.error().message + ";";
    std::string errors;
    for (int f = 0; f < kFiles; ++f) {
      FileRecord file;
      file.file_id = FileId(std::to_string(f));
      file.filename = Numbered("from", index) + ".pdf";
      auto upserted = (*store)->UpsertFile(file);
      if (!upserted) errors += "upsert: " + upserted.error().message + ";";
      auto owned = (*store)->AddOwner(file.file_id, Numbered("user", index));
      if (!owned) errors += "owner: " + owned.error().message + ";";
    }
    return errors;
  });
  for (int p = 0; p < kProcesses; ++p) EXPECT_EQ(reports[p], "") << "child " << p;

  auto store = SqliteStore::Open(OptionsFor(dir));
  ASSERT_TRUE(store);
  for (int f = 0; f < kFiles; ++f) {
    auto owners = (*store)->ListOwners(FileId(std::to_string(f)));
    ASSERT_TRUE(owners);
    EXPECT_EQ(owners->size(), static_cast<std::size_t>(kProcesses)) << "file " << f;
  }
}

}  // namespace
}  // namespace ragpdf::store
