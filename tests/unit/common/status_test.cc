#include "common/status.h"

#include <gtest/gtest.h>

namespace ragpdf::common {
namespace {

TEST(StatusTest, NamesRoundTrip) {
  for (auto s : {FileStatus::kNotStarted, FileStatus::kInProgress, FileStatus::kReadyForChat,
                 FileStatus::kCompleted, FileStatus::kError}) {
    EXPECT_EQ(ParseFileStatus(FileStatusName(s)), s);
  }
  EXPECT_EQ(FileStatusName(FileStatus::kReadyForChat), "ready_for_chat");
  EXPECT_FALSE(ParseFileStatus("ready").has_value());
}

TEST(StatusTest, AllowedTransitions) {
  using S = FileStatus;
  EXPECT_TRUE(CanTransition(S::kNotStarted, S::kInProgress));
  EXPECT_TRUE(CanTransition(S::kInProgress, S::kReadyForChat));
  EXPECT_TRUE(CanTransition(S::kInProgress, S::kError));
  EXPECT_TRUE(CanTransition(S::kInProgress, S::kInProgress));
  EXPECT_TRUE(CanTransition(S::kReadyForChat, S::kCompleted));
  EXPECT_TRUE(CanTransition(S::kReadyForChat, S::kError));
  EXPECT_TRUE(CanTransition(S::kError, S::kInProgress));
}

TEST(StatusTest, ForbiddenTransitions) {
  using S = FileStatus;
  EXPECT_FALSE(CanTransition(S::kNotStarted, S::kReadyForChat));
  EXPECT_FALSE(CanTransition(S::kNotStarted, S::kCompleted));
  EXPECT_FALSE(CanTransition(S::kInProgress, S::kCompleted));
  EXPECT_FALSE(CanTransition(S::kCompleted, S::kInProgress));
  EXPECT_FALSE(CanTransition(S::kCompleted, S::kError));
  EXPECT_FALSE(CanTransition(S::kError, S::kReadyForChat));
}

TEST(StatusTest, ChatAndFinal) {
  EXPECT_TRUE(CanChat(FileStatus::kReadyForChat));
  EXPECT_TRUE(CanChat(FileStatus::kCompleted));
  EXPECT_FALSE(CanChat(FileStatus::kInProgress));
  EXPECT_FALSE(CanChat(FileStatus::kError));
  EXPECT_TRUE(IsFinal(FileStatus::kError));
  EXPECT_FALSE(IsFinal(FileStatus::kReadyForChat));
}

}  // namespace
}  // namespace ragpdf::common
