// Renewing OAuth grants (app::CredentialKeeper) against the real stores: only grants that are
// due are renewed, what a new grant leaves out is kept, a revoked grant holds its account
// for reconnection and is not tried again, a transient failure is, and a renewal someone else
// made meanwhile (another worker or node, whose rotating refresh token spent ours) wins over
// calling the grant gone. The adapter here only answers renewals, as each test sets; the real
// adapters' token calls are tested against their platforms' fakes (tests/api/x_test.cpp).

#include "app/credentials.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>

#include "auth/vault.hpp"
#include "core/clock.hpp"
#include "domain/time.hpp"
#include "scratch_database.hpp"
#include "storage/store.hpp"

namespace herald::app {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class RenewingAdapter final : public PlatformAdapter {
  public:
    std::string_view Name() const override { return "oauthy"; }
    AuthMethod Auth() const override { return AuthMethod::kOAuth2; }
    domain::PlatformLimits Limits() const override { return {}; }
    core::Status ValidateSettings(const std::string&) const override { return {}; }
    PublishCapabilities Capabilities(const std::string&) const override { return {}; }
    PublishOutcome Publish(const PublishRequest&) override { return Rejected{"not in these tests"}; }
    core::Result<OAuthGrant> RefreshGrant(const std::string& credentials_json) override {
        ++calls;
        seen.push_back(credentials_json);
        return answer();
    }
    std::function<core::Result<OAuthGrant>()> answer;
    int calls = 0;
    std::vector<std::string> seen;
};

class OneAdapter final : public PlatformRegistry {
  public:
    explicit OneAdapter(PlatformAdapter& a) : a_(a) {}
    PlatformAdapter* Find(std::string_view name) const override { return name == a_.Name() ? &a_ : nullptr; }
    std::vector<std::string> Names() const override { return {std::string(a_.Name())}; }

  private:
    PlatformAdapter& a_;
};

auth::SecretKey Key() {
    auth::SecretKey key;
    for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<unsigned char>(i * 7 + 1);
    return key;
}

class CredentialKeeperTest : public ::testing::TestWithParam<std::string> {
  protected:
    CredentialKeeperTest()
        : db_(GetParam()), clock_(*domain::ParseRfc3339("2026-03-01T12:00:00Z")), vault_(Key()), platforms_(adapter_) {}

    void SetUp() override {
        auto opened = storage::OpenStore(db_.url(), storage::StoreOptions{3});
        ASSERT_TRUE(opened.has_value()) << opened.error().message;
        store_ = std::move(*opened);
        keeper_ = std::make_unique<CredentialKeeper>(*store_, clock_, platforms_, vault_);
        const domain::User user{"u1", "owner@example.com", "Owner", clock_.Now()};
        ASSERT_TRUE(store_->CreateUserWithWorkspace(user, "hash", ws_).has_value());
    }

    std::string Add(const std::string& id, const json& credentials, std::optional<core::TimePoint> refresh_at) {
        const domain::Account a{id, ws_.id, "oauthy", id, "{}", true, clock_.Now()};
        const std::string sealed = vault_.Seal(credentials.dump());
        EXPECT_TRUE(store_->InsertAccount(a, sealed, refresh_at).has_value());
        return sealed;
    }
    json Stored(const std::string& id) {
        auto c = store_->GetCredentials(id);
        EXPECT_TRUE(c.has_value());
        return json::parse(*vault_.Open(c->sealed));
    }
    std::vector<std::string> Due() {
        auto due = store_->CredentialsDueForRefresh(clock_.Now(), 100);
        EXPECT_TRUE(due.has_value());
        return due ? *due : std::vector<std::string>{};
    }
    std::string HeldFor(const std::string& id) {
        const auto pauses = store_->ListPauses(ws_.id);
        EXPECT_TRUE(pauses.has_value());
        for (const auto& p : pauses ? *pauses : std::vector<PauseRecord>{}) {
            if (p.scope.account_id == id && p.reason) return *p.reason;
        }
        return "";
    }

    test_support::ScratchDb db_;
    core::FakeClock clock_;
    auth::TokenVault vault_;
    RenewingAdapter adapter_;
    OneAdapter platforms_;
    std::unique_ptr<Store> store_;
    std::unique_ptr<CredentialKeeper> keeper_;
    const domain::Workspace ws_{"w1", "Workspace", core::TimePoint{}};
};

TEST_P(CredentialKeeperTest, RenewsWhatIsDueAndKeepsWhatTheNewGrantLeavesOut) {
    Add("later", {{"access_token", "l0"}, {"refresh_token", "lr"}}, clock_.Now() + 1h);
    Add("due", {{"access_token", "a0"}, {"refresh_token", "r0"}, {"scope", "post"}}, clock_.Now() - 1min);
    Add("never", {{"token", "static"}}, std::nullopt);
    ASSERT_EQ(Due(), std::vector<std::string>{"due"});
    adapter_.answer = [&]() -> core::Result<OAuthGrant> {
        // Google-style: a new access token, no new refresh token.
        return OAuthGrant{json({{"access_token", "a1"}, {"expires_at", 1772370000}}).dump(), clock_.Now() + 45min};
    };
    auto report = keeper_->RenewDue();
    ASSERT_TRUE(report.has_value()) << report.error().message;
    EXPECT_EQ(report->renewed, 1);
    EXPECT_EQ(report->revoked + report->failed, 0);
    ASSERT_EQ(adapter_.seen.size(), 1u);
    EXPECT_EQ(json::parse(adapter_.seen[0])["refresh_token"], "r0");  // the adapter got the stored grant
    EXPECT_EQ(Stored("due"),
              json({{"access_token", "a1"}, {"refresh_token", "r0"}, {"scope", "post"}, {"expires_at", 1772370000}}));
    EXPECT_EQ(Stored("later")["access_token"], "l0");
    EXPECT_TRUE(Due().empty());
    clock_.Set(clock_.Now() + 46min);  // the renewed one is due again, three quarters into its life
    EXPECT_EQ(Due(), (std::vector<std::string>{"due"}));
}

TEST_P(CredentialKeeperTest, ARevokedGrantHoldsTheAccountAndIsNotTriedAgain) {
    Add("gone", {{"access_token", "a0"}, {"refresh_token", "r0"}}, clock_.Now());
    adapter_.answer = []() -> core::Result<OAuthGrant> {
        return core::Fail(core::ErrorCode::kPermissionDenied, "the grant was revoked: reconnect the account");
    };
    auto report = keeper_->RenewDue();
    ASSERT_TRUE(report.has_value());
    EXPECT_EQ(report->revoked, 1);
    EXPECT_EQ(HeldFor("gone"), "reconnect_required: the grant was revoked: reconnect the account");
    EXPECT_EQ(Stored("gone")["refresh_token"], "r0");  // never deleted: a reconnect may keep it
    EXPECT_TRUE(Due().empty());
    ASSERT_TRUE(keeper_->RenewDue().has_value());
    EXPECT_EQ(adapter_.calls, 1);
}

TEST_P(CredentialKeeperTest, ATransientFailureIsTriedAgainAQuarterOfAnHourLater) {
    Add("flaky", {{"access_token", "a0"}, {"refresh_token", "r0"}}, clock_.Now());
    adapter_.answer = []() -> core::Result<OAuthGrant> {
        return core::Fail(core::ErrorCode::kUnavailable, "could not reach the platform");
    };
    auto report = keeper_->RenewDue();
    ASSERT_TRUE(report.has_value());
    EXPECT_EQ(report->failed, 1);
    EXPECT_EQ(HeldFor("flaky"), "");
    EXPECT_EQ(Stored("flaky")["access_token"], "a0");
    // Not on every run: a quarter of an hour later, so failing grants do not hold the queue.
    EXPECT_TRUE(Due().empty());
    clock_.Set(clock_.Now() + 16min);
    EXPECT_EQ(Due(), std::vector<std::string>{"flaky"});
}

TEST_P(CredentialKeeperTest, WhatSomeoneElseRenewedMeanwhileWins) {
    const std::string first = Add("shared", {{"access_token", "a0"}, {"refresh_token", "r0"}}, clock_.Now());
    // Another node renewed it after this worker read it: no call, theirs is used.
    const std::string theirs = vault_.Seal(json({{"access_token", "a1"}, {"refresh_token", "r1"}}).dump());
    ASSERT_TRUE(*store_->ReplaceCredentials("shared", first, theirs, clock_.Now() + 1h));
    auto renewed = keeper_->Renew("shared", first);
    ASSERT_TRUE(renewed.has_value()) << renewed.error().message;
    EXPECT_EQ(json::parse(*renewed)["access_token"], "a1");
    EXPECT_EQ(adapter_.calls, 0);
    // A stale compare-and-swap changes nothing.
    EXPECT_FALSE(*store_->ReplaceCredentials("shared", first, vault_.Seal("{}"), std::nullopt));

    // The other node renews during our call: the platform refuses our spent refresh token as if
    // the grant were gone, and theirs is taken instead of holding the account.
    const std::string mine = store_->GetCredentials("shared")->sealed;
    adapter_.answer = [&]() -> core::Result<OAuthGrant> {
        const std::string newer = vault_.Seal(json({{"access_token", "a2"}, {"refresh_token", "r2"}}).dump());
        EXPECT_TRUE(*store_->ReplaceCredentials("shared", mine, newer, clock_.Now() + 1h));
        return core::Fail(core::ErrorCode::kPermissionDenied, "invalid_grant");
    };
    auto raced = keeper_->Renew("shared", mine);
    ASSERT_TRUE(raced.has_value()) << raced.error().message;
    EXPECT_EQ(json::parse(*raced)["access_token"], "a2");
    EXPECT_EQ(HeldFor("shared"), "");
}

INSTANTIATE_TEST_SUITE_P(On, CredentialKeeperTest, ::testing::ValuesIn(test_support::kBackends),
                         test_support::BackendName);

}  // namespace
}  // namespace herald::app
