#include "core/config.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>

namespace herald::core {
namespace {

class ConfigFile {
  public:
    explicit ConfigFile(const std::string& text) {
        path_ = std::filesystem::temp_directory_path() /
                ("herald-config-" + std::to_string(std::random_device{}()) + ".json");
        std::ofstream(path_) << text;
    }
    ~ConfigFile() { std::filesystem::remove(path_); }
    std::string path() const { return path_.string(); }

  private:
    std::filesystem::path path_;
};

TEST(CoreConfig, DefaultsMatchTheContract) {
    auto c = LoadConfig("", {}, {});
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->listen_host, "127.0.0.1");
    EXPECT_EQ(c->listen_port, 8080);
    EXPECT_EQ(c->data_dir, "./data");
    EXPECT_EQ(c->DatabaseUrl(), "sqlite:./data/herald.db");
}

TEST(CoreConfig, FlagsBeatEnvironmentWhichBeatsTheFile) {
    ConfigFile file(R"({"listen": "127.0.0.1:1111", "data_dir": "/from/file", "workers": 2, "log_level": "debug"})");
    auto c = LoadConfig(file.path(), {{"listen", "127.0.0.1:3333"}},
                        {{"listen", "127.0.0.1:2222"}, {"data_dir", "/from/env"}});
    ASSERT_TRUE(c.has_value()) << c.error().message;
    EXPECT_EQ(c->listen_port, 3333);      // flag
    EXPECT_EQ(c->data_dir, "/from/env");  // environment over file
    EXPECT_EQ(c->workers, 2);             // file only
    EXPECT_EQ(c->log_level, "debug");
    EXPECT_EQ(c->DatabaseUrl(), "sqlite:/from/env/herald.db");
}

TEST(CoreConfig, UnknownKeysAreErrorsWhereverTheyComeFrom) {
    ConfigFile file(R"({"listen": "127.0.0.1:1", "lisen": "oops"})");
    auto c = LoadConfig(file.path(), {}, {});
    ASSERT_FALSE(c.has_value());
    EXPECT_NE(c.error().message.find("unknown config key 'lisen'"), std::string::npos);
    EXPECT_NE(c.error().message.find(file.path()), std::string::npos);
    EXPECT_FALSE(LoadConfig("", {{"nope", "1"}}, {}).has_value());
}

TEST(CoreConfig, BadValuesNameTheKeyAndTheSource) {
    auto port = LoadConfig("", {{"listen", "127.0.0.1:99999"}}, {});
    ASSERT_FALSE(port.has_value());
    EXPECT_NE(port.error().message.find("command line"), std::string::npos);
    auto workers = LoadConfig("", {}, {{"workers", "many"}});
    ASSERT_FALSE(workers.has_value());
    EXPECT_NE(workers.error().message.find("workers"), std::string::npos);
    EXPECT_NE(workers.error().message.find("environment"), std::string::npos);
    EXPECT_FALSE(LoadConfig("", {{"listen", "8080"}}, {}).has_value());
    EXPECT_FALSE(LoadConfig("", {{"log_level", "loud"}}, {}).has_value());
    ConfigFile not_object("[1,2]");
    EXPECT_FALSE(LoadConfig(not_object.path(), {}, {}).has_value());
    ConfigFile wrong_type(R"({"workers": [4]})");
    EXPECT_FALSE(LoadConfig(wrong_type.path(), {}, {}).has_value());
    EXPECT_FALSE(LoadConfig("/nonexistent/herald.json", {}, {}).has_value());
}

TEST(CoreConfig, HistoryRetentionDays) {
    auto defaults = LoadConfig("", {}, {});
    ASSERT_TRUE(defaults.has_value());
    EXPECT_EQ(defaults->history_retention_days, 30);
    auto set = LoadConfig("", {{"history_retention_days", "7"}}, {});
    ASSERT_TRUE(set.has_value());
    EXPECT_EQ(set->history_retention_days, 7);
    EXPECT_FALSE(LoadConfig("", {{"history_retention_days", "0"}}, {}).has_value());
    EXPECT_NE(std::find(ConfigKeys().begin(), ConfigKeys().end(), "history_retention_days"), ConfigKeys().end());
}

TEST(CoreConfig, ListenAcceptsBracketedIpv6) {
    auto c = LoadConfig("", {{"listen", "[::1]:0"}}, {});
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->listen_host, "::1");
    EXPECT_EQ(c->listen_port, 0);
}

}  // namespace
}  // namespace herald::core
