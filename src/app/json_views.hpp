#pragma once

// How domain values look as JSON: one definition used by API responses and live events alike.

#include <nlohmann/json.hpp>

#include "app/planner.hpp"
#include "app/ports.hpp"
#include "domain/account.hpp"
#include "domain/post.hpp"

namespace herald::app {

nlohmann::json ToJson(const domain::Delivery& d);
nlohmann::json ToJson(const PlannedDelivery& d);
nlohmann::json ToJson(const AccountLimits& l);
nlohmann::json ToJson(const domain::Post& p);
nlohmann::json ToJson(const domain::Account& a);
nlohmann::json ToJson(const domain::User& u);
nlohmann::json ToJson(const domain::Workspace& w);
nlohmann::json ToJson(const domain::Member& m);
nlohmann::json ToJson(const SandboxPost& s);
nlohmann::json ToJson(const ApiTokenRecord& t);
nlohmann::json ToJson(const JobView& j);
nlohmann::json ToJson(const PauseRecord& p);
nlohmann::json ToJson(const QueueStats& s);
nlohmann::json ToJson(const domain::MediaItem& m);
/// The live event for a delivery that changed state.
nlohmann::json DeliveryEventJson(const DeliveryChange& c);
/// The same event as text, written directly: the queue sends one for every publish, and this
/// costs a fraction of building the JSON tree and dumping it. Same members and values as
/// DeliveryEventJson(c).dump(); text that is not valid UTF-8 comes out with U+FFFD in its place.
std::string DeliveryEventText(const DeliveryChange& c);

}  // namespace herald::app
