#pragma once

// The one place Asio comes in. Boost 1.74's Asio uses std::exchange without including
// <utility>, so it goes first. Only net/ (and tests of net/) include this.
// clang-format off
#include <utility>
#include <boost/asio.hpp>
// clang-format on
