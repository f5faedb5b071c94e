// libFuzzer harness for the TOML parser and the configuration layer: the input is TOML
// text. Parsing and validation must give a Config or a ConfigError (never a crash, a
// hang or another exception), and a Config that was accepted must survive its own
// round trip (to_toml, then from_toml) with every value unchanged: nothing is
// silently lost or altered on the way.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "spikegraph/config/schema.hpp"
#include "spikegraph/config/toml.hpp"
#include "spikegraph/core/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    (void)spikegraph::config::parse_toml(text, "<fuzz>");
  } catch (const spikegraph::Error&) {
  }
  try {
    const auto cfg = spikegraph::config::Config::from_toml(text, "<fuzz>");
    const auto again = spikegraph::config::Config::from_toml(cfg.to_toml(), "<round trip>");
    for (const auto& [key, value] : cfg.values()) {
      if (again.value(key).to_string() != value.to_string()) std::abort();  // a value changed on the way
    }
  } catch (const spikegraph::Error&) {
  }
  return 0;
}
