// spikegraph/config/value.cpp
// Type names and TOML rendering of configuration values.
#include "spikegraph/config/value.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace spikegraph::config {
namespace {

// The shortest digits that read back to the same double (std::to_chars), independent
// of the C locale; always marked as a float (".0" appended to integral values).
std::string format_float(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
  char buf[40];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  std::string out(buf, res.ptr);
  if (out.find_first_of(".e") == std::string::npos) out += ".0";
  return out;
}

// A TOML basic string: quotes, backslashes and control characters escaped.
std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    switch (ch) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04X", static_cast<unsigned>(static_cast<unsigned char>(ch)));
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  return out + "\"";
}

}  // namespace

const char* Value::type_name() const {
  static const char* const kNames[] = {"boolean", "integer", "float", "string", "array"};
  return kNames[static_cast<int>(type)];
}

std::string Value::to_string() const {
  if (type == Type::Bool) return b ? "true" : "false";
  if (type == Type::Int) return std::to_string(i);
  if (type == Type::Float) return format_float(f);
  if (type == Type::String) return quote(s);
  std::string out = "[";
  for (std::size_t k = 0; k < items.size(); ++k) {
    if (k > 0) out += ", ";
    out += items[k].to_string();
  }
  return out + "]";
}

}  // namespace spikegraph::config
