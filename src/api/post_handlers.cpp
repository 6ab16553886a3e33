#include <algorithm>

#include "api/api.hpp"
#include "api/json_body.hpp"
#include "api/paging.hpp"
#include "app/json_views.hpp"
#include "core/ids.hpp"
#include "domain/time.hpp"

namespace herald::api {
namespace {

// Reads scheduled_at / local_time / timezone / queue.
app::ScheduleInput ReadSchedule(JsonBody& body) {
    return app::ScheduleInput{body.OptString("scheduled_at"), body.OptString("local_time"), body.OptString("timezone"),
                              body.OptBool("queue").value_or(false)};
}

// The fields of a new post, as in POST /posts and each item of POST /posts/bulk.
app::CreatePostInput ReadCreatePost(JsonBody& body) {
    app::CreatePostInput in;
    in.text = body.String("text");
    in.variants = body.OptStringMap("variants").value_or(std::map<std::string, std::string>{});
    in.thread = body.OptStringArray("thread").value_or(std::vector<std::string>{});
    in.first_comment = body.OptString("first_comment");
    in.media_ids = body.OptStringArray("media_ids").value_or(std::vector<std::string>{});
    in.account_ids = body.OptStringArray("account_ids").value_or(std::vector<std::string>{});
    in.schedule = ReadSchedule(body);
    return in;
}

nlohmann::json ItemError(size_t index, const core::Error& e) {
    nlohmann::json details = nlohmann::json::object();
    for (const auto& [k, v] : e.details) details[k] = v;
    return {{"index", index}, {"code", core::ToString(e.code)}, {"message", e.message}, {"details", details}};
}

}  // namespace

net::Response Api::CreatePost(const net::Request& r, const app::Principal& who, const Params&) {
    auto body = JsonBody::Parse(r.body);
    if (!body) return ErrorResponse(body.error());
    auto in = ReadCreatePost(*body);
    if (auto ok = body->Finish(); !ok) return ErrorResponse(ok.error());
    auto post = deps_.posts.Create(who, in);
    if (!post) return ErrorResponse(post.error());
    return JsonResponse(201, app::ToJson(*post));
}

net::Response Api::ListPosts(const net::Request& r, const app::Principal& who, const Params&) {
    app::PostFilter f;
    for (const auto& [key, value] : r.query) {
        if (key == "status") {
            f.status = domain::ParseDeliveryStatus(value);
            if (!f.status) {
                return ErrorResponse(core::FieldError("status", "enum",
                                                      "status must be one of draft, scheduled, queued, publishing, "
                                                      "published, failed, needs_approval, cancelled, unconfirmed")
                                         .value());
            }
        } else if (key == "account_id") {
            f.account_id = value;
        } else if (key == "from" || key == "to") {
            auto t = domain::ParseRfc3339(value, key);
            if (!t) return ErrorResponse(t.error());
            (key == "from" ? f.from : f.to) = *t;
        } else if (key == "cursor" || key == "limit") {
            if (auto ok = ReadPagingParam(key, value, core::IsId(value), f.after_id, f.limit); !ok) {
                return ErrorResponse(ok.error());
            }
        } else {
            return ErrorResponse(core::FieldError(key, "unknown_parameter",
                                                  "unknown query parameter '" + key +
                                                      "' (known: status, account_id, from, to, cursor, limit)")
                                     .value());
        }
    }
    // One more than asked tells whether another page exists, so the last page has no cursor.
    const int page = f.limit;
    f.limit = page + 1;
    auto posts = deps_.posts.List(who, f);
    if (!posts) return ErrorResponse(posts.error());
    return JsonResponse(200, Page(*posts, page, [](const domain::Post& p) { return app::ToJson(p); }));
}

net::Response Api::GetPost(const net::Request&, const app::Principal& who, const Params& p) {
    auto post = deps_.posts.Get(who, p[0]);
    if (!post) return ErrorResponse(post.error());
    return JsonResponse(200, app::ToJson(*post));
}

net::Response Api::UpdatePost(const net::Request& r, const app::Principal& who, const Params& p) {
    auto body = JsonBody::Parse(r.body);
    if (!body) return ErrorResponse(body.error());
    app::UpdatePostInput in;
    // Absent fields keep their value; a present variants/account_ids replaces the old one.
    if (body->Has("text")) in.text = body->String("text");
    if (body->Has("variants"))
        in.variants = body->OptStringMap("variants").value_or(std::map<std::string, std::string>{});
    if (body->Has("account_ids")) {
        in.account_ids = body->OptStringArray("account_ids").value_or(std::vector<std::string>{});
    }
    if (body->Has("thread")) in.thread = body->OptStringArray("thread").value_or(std::vector<std::string>{});
    if (body->Has("media_ids")) {
        in.media_ids = body->OptStringArray("media_ids").value_or(std::vector<std::string>{});
    }
    in.first_comment_set = body->Has("first_comment");
    if (in.first_comment_set) in.first_comment = body->OptString("first_comment");
    in.schedule_set =
        body->Has("scheduled_at") || body->Has("local_time") || body->Has("timezone") || body->Has("queue");
    in.schedule = ReadSchedule(*body);
    if (auto ok = body->Finish(); !ok) return ErrorResponse(ok.error());
    auto post = deps_.posts.Update(who, p[0], in);
    if (!post) return ErrorResponse(post.error());
    return JsonResponse(200, app::ToJson(*post));
}

net::Response Api::DeletePost(const net::Request&, const app::Principal& who, const Params& p) {
    if (auto ok = deps_.posts.Delete(who, p[0]); !ok) return ErrorResponse(ok.error());
    return net::Response{204, "", "", {}};
}

net::Response Api::RetryDelivery(const net::Request& r, const app::Principal& who, const Params& p) {
    if (auto ok = JsonBody::Empty(r.body); !ok) return ErrorResponse(ok.error());
    auto post = deps_.posts.ResolveDelivery(who, p[0], p[1], {app::DeliveryResolution::Action::kRetry, {}, {}});
    if (!post) return ErrorResponse(post.error());
    return JsonResponse(200, app::ToJson(*post));
}

net::Response Api::MarkDeliveryPublished(const net::Request& r, const app::Principal& who, const Params& p) {
    auto body = JsonBody::Parse(r.body);
    if (!body) return ErrorResponse(body.error());
    app::DeliveryResolution res{app::DeliveryResolution::Action::kMarkPublished, body->String("url"),
                                body->OptString("remote_id")};
    if (auto ok = body->Finish(); !ok) return ErrorResponse(ok.error());
    auto post = deps_.posts.ResolveDelivery(who, p[0], p[1], res);
    if (!post) return ErrorResponse(post.error());
    return JsonResponse(200, app::ToJson(*post));
}

net::Response Api::CreatePostsBulk(const net::Request& r, const app::Principal& who, const Params&) {
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(r.body);
    } catch (const nlohmann::json::parse_error& e) {
        return ErrorResponse(core::Error{core::ErrorCode::kInvalidArgument,
                                         "request body is not valid JSON (at byte " + std::to_string(e.byte) + ")",
                                         {{"rule", "json"}}});
    }
    if (!doc.is_object() || !doc.contains("posts") || !doc["posts"].is_array()) {
        return ErrorResponse(
            core::FieldError("posts", "required", "send {\"posts\": [...]}: an array of posts, as for POST /posts")
                .value());
    }
    for (const auto& [key, _] : doc.items()) {
        if (key != "posts") {
            return ErrorResponse(core::FieldError(key, "unknown_field", "unknown field '" + key + "'").value());
        }
    }
    auto& items = doc["posts"];
    if (items.empty()) {
        return ErrorResponse(core::FieldError("posts", "required", "posts must hold at least one post").value());
    }
    if (items.size() > app::PostService::kMaxBulkPosts) {
        return ErrorResponse(core::FieldError("posts", "max_items",
                                              "at most " + std::to_string(app::PostService::kMaxBulkPosts) +
                                                  " posts per request; split the rest")
                                 .value());
    }
    // Items of the right shape go on to the service's checks, so one answer lists every
    // problem; `index` maps them back to their place in the request.
    std::vector<app::CreatePostInput> inputs;
    std::vector<size_t> index;
    inputs.reserve(items.size());
    nlohmann::json errors = nlohmann::json::array();
    for (size_t i = 0; i < items.size(); ++i) {
        auto body = JsonBody::FromValue(std::move(items[i]));
        if (!body) {
            errors.push_back(ItemError(i, body.error()));
            continue;
        }
        auto in = ReadCreatePost(*body);
        if (auto ok = body->Finish(); !ok) {
            errors.push_back(ItemError(i, ok.error()));
            continue;
        }
        inputs.push_back(std::move(in));
        index.push_back(i);
    }
    if (!inputs.empty()) {
        app::BulkOptions options;
        options.dry_run = !errors.empty();
        auto result = deps_.posts.CreateMany(who, inputs, options);
        if (!result) return ErrorResponse(result.error());
        for (const auto& [i, e] : result->errors) errors.push_back(ItemError(index[i], e));
        if (errors.empty()) {
            nlohmann::json created = nlohmann::json::array();
            for (const auto& p : result->posts) created.push_back(app::ToJson(p));
            return JsonResponse(201, {{"count", created.size()}, {"items", created}});
        }
    }
    std::sort(errors.begin(), errors.end(),
              [](const nlohmann::json& a, const nlohmann::json& b) { return a["index"] < b["index"]; });
    const size_t bad = errors.size();
    auto resp = ErrorResponse(core::Error{
        core::ErrorCode::kInvalidArgument,
        std::to_string(bad) + " of " + std::to_string(items.size()) + " posts are invalid; nothing was created",
        {{"rule", "bulk_items"}}});
    auto out = nlohmann::json::parse(resp.body);
    out["errors"] = std::move(errors);
    resp.body = out.dump();
    return resp;
}

net::Response Api::CancelPost(const net::Request& r, const app::Principal& who, const Params& p) {
    if (auto ok = JsonBody::Empty(r.body); !ok) return ErrorResponse(ok.error());
    auto post = deps_.queue.CancelPost(who, p[0], std::nullopt);
    if (!post) return ErrorResponse(post.error());
    return JsonResponse(200, app::ToJson(*post));
}

net::Response Api::CancelDelivery(const net::Request& r, const app::Principal& who, const Params& p) {
    if (auto ok = JsonBody::Empty(r.body); !ok) return ErrorResponse(ok.error());
    auto post = deps_.queue.CancelPost(who, p[0], p[1]);
    if (!post) return ErrorResponse(post.error());
    return JsonResponse(200, app::ToJson(*post));
}

}  // namespace herald::api
