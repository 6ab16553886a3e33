#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "queue/group_commit.hpp"

namespace herald::queue {
namespace {

TEST(GroupCommit, EachCallerGetsTheAnswersForItsOwnItems) {
    std::atomic<int> writes{0};
    GroupCommit<int, int> doubler([&](const std::vector<int>& items) -> core::Result<std::vector<int>> {
        ++writes;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));  // let others queue up behind
        std::vector<int> out;
        for (int i : items) out.push_back(i * 2);
        return out;
    });
    std::vector<std::thread> callers;
    std::atomic<int> wrong{0};
    for (int t = 0; t < 8; ++t) {
        callers.emplace_back([&, t] {
            for (int round = 0; round < 20; ++round) {
                const std::vector<int> mine = {t * 1000 + round, t * 1000 + round + 500};
                auto got = doubler.Submit(mine);
                if (!got || *got != std::vector<int>{mine[0] * 2, mine[1] * 2}) ++wrong;
            }
        });
    }
    for (auto& c : callers) c.join();
    EXPECT_EQ(wrong.load(), 0);
}

TEST(GroupCommit, CallersArrivingDuringAWriteShareTheNextOne) {
    std::mutex mu;
    std::condition_variable cv;
    bool release = false;
    std::vector<std::vector<int>> groups;
    GroupCommit<int, int> echo([&](const std::vector<int>& items) -> core::Result<std::vector<int>> {
        std::unique_lock lock(mu);
        groups.push_back(items);
        if (groups.size() == 1) cv.wait(lock, [&] { return release; });  // hold the first write
        return items;
    });
    std::thread leader([&] { EXPECT_EQ(*echo.Submit({1}), std::vector<int>{1}); });
    // Wait until the first write is under way, then queue two callers behind it.
    for (bool started = false; !started;) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        std::lock_guard lock(mu);
        started = !groups.empty();
    }
    std::thread second([&] { EXPECT_EQ(*echo.Submit({2}), std::vector<int>{2}); });
    std::thread third([&] { EXPECT_EQ(*echo.Submit({3, 4}), (std::vector<int>{3, 4})); });
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // both wait behind the first
    {
        std::lock_guard lock(mu);
        release = true;
    }
    cv.notify_all();
    leader.join();
    second.join();
    third.join();
    ASSERT_EQ(groups.size(), 2u);
    EXPECT_EQ(groups[1].size(), 3u);  // one write for both waiting callers
}

TEST(GroupCommit, AFailedOrThrowingWriteFailsItsGroupAndTheNextOneStillRuns) {
    int calls = 0;
    GroupCommit<int, int> flaky([&](const std::vector<int>& items) -> core::Result<std::vector<int>> {
        ++calls;
        if (calls == 1) throw std::runtime_error("disk on fire");
        if (calls == 2) return core::Fail(core::ErrorCode::kUnavailable, "the database failed");
        if (calls == 3) return std::vector<int>{};  // wrong number of answers
        return items;
    });
    auto thrown = flaky.Submit({1});
    ASSERT_FALSE(thrown.has_value());
    EXPECT_NE(thrown.error().message.find("disk on fire"), std::string::npos);
    auto failed = flaky.Submit({2});
    ASSERT_FALSE(failed.has_value());
    EXPECT_EQ(failed.error().code, core::ErrorCode::kUnavailable);
    EXPECT_FALSE(flaky.Submit({3}).has_value());
    auto ok = flaky.Submit({4, 5});
    ASSERT_TRUE(ok.has_value());
    EXPECT_EQ(*ok, (std::vector<int>{4, 5}));
}

}  // namespace
}  // namespace herald::queue
