// Asio and Beast are header-only by default; with *_SEPARATE_COMPILATION their bodies are
// compiled here, once, instead of in every translation unit that uses them.
// clang-format off
#include "core/asio.hpp"
#include <boost/asio/impl/src.hpp>
#include <boost/beast/src.hpp>
// clang-format on
