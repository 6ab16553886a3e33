#include "platforms/facebook.hpp"

namespace herald::platforms {
namespace {

using nlohmann::json;

// "https://graph.facebook.com/v23.0" → "/v23.0": the login dialog takes the same version.
std::string VersionPath(const std::string& api_base) { return api_base.substr(meta::Origin(api_base).size()); }

}  // namespace

FacebookAdapter::FacebookAdapter(const core::Clock& clock, HttpOptions http, std::string api_base,
                                 std::optional<OAuthClient> client)
    : OAuthAdapter(
          meta::LongLivedTokens(OAuthSpec{"Facebook",
                                          "https://www.facebook.com" + VersionPath(api_base) + "/dialog/oauth",
                                          api_base + "/oauth/access_token",
                                          "pages_show_list,pages_manage_posts,pages_read_engagement",
                                          false,
                                          "client_id",
                                          {}},
                                meta::TokenEndpoints{"Facebook", api_base + "/oauth/access_token", "fb_exchange_token",
                                                     api_base + "/oauth/access_token", "fb_exchange_token", true},
                                std::move(client), clock, http)),
      clock_(clock),
      http_(http),
      api_(std::move(api_base)) {}

domain::PlatformLimits FacebookAdapter::Limits() const {
    domain::PlatformLimits l;
    l.max_text_chars = 63206;
    l.max_media = 10;
    l.first_comment = true;
    auto& m = l.media;
    m.max_images = 10;
    m.max_image_bytes = 10u << 20;
    m.formats = {domain::MediaFormat::kJpeg, domain::MediaFormat::kPng, domain::MediaFormat::kGif};
    return l;
}

core::Status FacebookAdapter::ValidateSettings(const std::string& settings_json) const {
    auto read = ReadSettings(settings_json, {"page_id", "page_name"}, "Facebook", "page_id");
    if (!read) return tl::unexpected(read.error());
    if (read->contains("page_id")) {
        const std::string id = (*read)["page_id"];
        if (id.empty() || id.find_first_not_of("0123456789") != std::string::npos) {
            return core::FieldError("settings.page_id", "format",
                                    "settings.page_id must be the Page's numeric id (Page → About → Page ID)");
        }
    }
    return {};
}

core::Result<std::string> FacebookAdapter::VerifyConnection(const std::string& settings_json,
                                                            const std::string& credentials_json) {
    const std::string token = AccessToken(credentials_json);
    if (token.empty()) {
        return core::FieldError("credentials", "facebook_token",
                                "Facebook Pages are connected through Facebook Login (POST /api/v1/accounts/oauth)");
    }
    auto r = http_.Send(Authorized("GET", api_ + "/me/accounts?fields=id,name&limit=100", token));
    if (!r.ok()) {
        return tl::unexpected(meta::ConnectionError(r, "Facebook", "listing your Pages", clock_.Now()));
    }
    auto settings = JsonObject(settings_json);
    const std::string wanted = settings.value("page_id", "");
    const json pages = r.Json().value("data", json::array());
    std::string known;
    for (const auto& page : pages) {
        const std::string id = page.value("id", "");
        if (id == wanted || (wanted.empty() && pages.size() == 1)) {
            settings["page_id"] = id;
            settings["page_name"] = page.value("name", "");
            return settings.dump();
        }
        known += (known.empty() ? "" : ", ") + id + " (" + page.value("name", "") + ")";
    }
    if (pages.empty()) {
        return core::FieldError("settings.page_id", "page",
                                "this Facebook login manages no Page Herald was allowed to post to");
    }
    return core::FieldError("settings.page_id", "page",
                            (wanted.empty() ? std::string("this login manages several Pages: ")
                                            : "this login does not manage Page " + wanted + "; it manages ") +
                                "set settings.page_id to one of " + known);
}

app::PublishOutcome FacebookAdapter::Publish(const app::PublishRequest& req) {
    const std::string user_token = AccessToken(req.credentials);
    if (user_token.empty()) return app::AuthExpired{"no Facebook token is stored for this account"};
    const std::string page = JsonString(req.account_settings_json, "page_id");
    const auto now = clock_.Now();
    // The Page's own token, from the user's grant.
    auto pt = http_.Send(Authorized("GET", api_ + "/" + page + "?fields=access_token", user_token));
    if (!pt.ok()) return meta::Outcome(pt, "Facebook", "getting the Page's token", false, now);
    const std::string token = pt.Json().value("access_token", "");
    if (token.empty()) {
        return app::AuthExpired{"Facebook gave no token for Page " + page +
                                ": the person who connected it may no longer manage it"};
    }
    auto form_call = [&](const std::string& path, std::vector<FormPart> form) {
        HttpRequest req2 = Authorized("POST", api_ + path, token);
        req2.form = std::move(form);
        req2.timeout = std::chrono::seconds(300);
        return http_.Send(req2);
    };
    auto photo = [&](const app::PublishMedia& m, bool published) {
        std::vector<FormPart> form = {
            FormPart{"source", "", m.path, m.id + "." + std::string(domain::Extension(m.format)),
                     std::string(domain::MimeType(m.format))},
            FormPart{"published", published ? "true" : "false", {}, "", ""}};
        if (published) form.push_back(FormPart{"caption", req.text, {}, "", ""});
        return form_call("/" + page + "/photos", std::move(form));
    };
    std::string post_id;
    if (req.media.size() == 1) {
        auto r = photo(req.media[0], true);
        if (!r.ok()) return meta::Outcome(r, "Facebook", "publishing the photo", true, now);
        post_id = r.Json().value("post_id", r.Json().value("id", ""));
    } else {
        std::vector<FormPart> form = {FormPart{"message", req.text, {}, "", ""}};
        for (size_t i = 0; i < req.media.size(); ++i) {
            // Unpublished uploads change nothing anyone sees: a failure is retried.
            auto r = photo(req.media[i], false);
            if (!r.ok()) {
                auto o = meta::Outcome(r, "Facebook", "uploading an image", false, now);
                if (std::holds_alternative<app::Unknown>(o)) return app::Retryable{ReasonOf(o)};
                return o;
            }
            form.push_back(FormPart{"attached_media[" + std::to_string(i) + "]",
                                    json({{"media_fbid", r.Json().value("id", "")}}).dump(),
                                    {},
                                    "",
                                    ""});
        }
        auto r = form_call("/" + page + "/feed", std::move(form));
        if (!r.ok()) return meta::Outcome(r, "Facebook", "publishing the post", true, now);
        post_id = r.Json().value("id", "");
    }
    if (post_id.empty()) return app::Unknown{"Facebook accepted the post but answered without its id"};
    auto link = http_.Send(Authorized("GET", api_ + "/" + post_id + "?fields=permalink_url", token));
    std::string url = link.ok() ? link.Json().value("permalink_url", "") : "";
    if (url.empty()) url = "https://www.facebook.com/" + page;
    auto comment = PostReplies(req, post_id, url, [&](const std::string& text, const std::string&) -> ReplyStep {
        auto r = form_call("/" + post_id + "/comments", {FormPart{"message", text, {}, "", ""}});
        if (!r.ok()) return meta::Outcome(r, "Facebook", "the first comment", true, now);
        return r.Json().value("id", "");
    });
    if (comment) return *comment;
    return app::Published{post_id, url, std::nullopt};
}

}  // namespace herald::platforms
