// Tests for the TOML configuration reader (spikegraph/config/toml.hpp) and for
// Value::type_name / Value::to_string (spikegraph/config/value.hpp).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

#include "spikegraph/config/toml.hpp"
#include "spikegraph/config/value.hpp"
#include "spikegraph/core/error.hpp"

using spikegraph::ConfigError;
using spikegraph::IoError;
using spikegraph::config::FlatTable;
using spikegraph::config::parse_toml;
using spikegraph::config::parse_toml_file;
using spikegraph::config::Value;
using Catch::Matchers::Contains;

namespace {

FlatTable parse(const std::string& text) { return parse_toml(text, "t.toml"); }

// The ConfigError message for `text`, or "(no error)".
std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

// Checks each {input, exact message} pair.
void check_errors(const std::vector<std::pair<std::string, std::string>>& cases) {
  for (const auto& [text, message] : cases) {
    INFO("input: " << text);
    CHECK(error_of(text) == message);
  }
}

Value get(const FlatTable& table, const std::string& key) {
  INFO("key: " << key);
  auto it = table.find(key);
  REQUIRE(it != table.end());
  return it->second;
}

Value parse_one(const std::string& value_text) { return get(parse("x = " + value_text), "x"); }

std::int64_t int_of(const std::string& value_text) {
  Value v = parse_one(value_text);
  REQUIRE(v.type == Value::Type::Int);
  return v.i;
}

double float_of(const std::string& value_text) {
  Value v = parse_one(value_text);
  REQUIRE(v.type == Value::Type::Float);
  return v.f;
}

std::string string_of(const std::string& value_text) {
  Value v = parse_one(value_text);
  REQUIRE(v.type == Value::Type::String);
  return v.s;
}

std::filesystem::path temp_path(const std::string& name) {
  return std::filesystem::temp_directory_path() / ("spikegraph_test_toml_" + std::to_string(::getpid()) + "_" + name);
}

}  // namespace

// ---- accepted syntax ------------------------------------------------------------------

TEST_CASE("toml: empty input, blank lines, comments and line endings", "[config][toml]") {
  CHECK(parse("").empty());
  CHECK(parse("\n\n  \t\n").empty());
  CHECK(parse("# only a comment").empty());
  CHECK(parse("# comment\n   # indented comment\t with tab\n").empty());

  FlatTable t = parse("a = 1 # trailing comment\r\n\r\n\tb = 2\r\n# end");
  CHECK(t.size() == 2);
  CHECK(get(t, "a").i == 1);
  CHECK(get(t, "b").i == 2);

  SECTION("a byte-order mark is skipped and not counted in columns") {
    CHECK(get(parse("\xEF\xBB\xBF" "a = 1"), "a").i == 1);
    CHECK(error_of("\xEF\xBB\xBF" "a = ?") == "t.toml:1:5: expected a value, found '?'");
  }
  SECTION("the source name starts every message") {
    try {
      parse_toml("x =", "configs/run.toml");
      FAIL("no error");
    } catch (const ConfigError& e) {
      CHECK(std::string(e.what()) == "configs/run.toml:1:4: missing value for key 'x'");
    }
  }
}

TEST_CASE("toml: bare, quoted and dotted keys", "[config][toml]") {
  FlatTable t = parse(
      "bare_key-9 = 1\n"
      "1234 = 2\n"
      "true = 3\n"
      "\"quoted key\" = 4\n"
      "'literal key' = 5\n"
      "\"caf\\u00e9\" = 6\n"
      "node.dynamic.tau_m = 7\n"
      "node . dynamic . v_th = 8\n"
      "site.\"main site\".'port' = 9\n");
  CHECK(t.size() == 9);
  CHECK(get(t, "bare_key-9").i == 1);
  CHECK(get(t, "1234").i == 2);
  CHECK(get(t, "true").i == 3);
  CHECK(get(t, "quoted key").i == 4);
  CHECK(get(t, "literal key").i == 5);
  CHECK(get(t, "caf\xC3\xA9").i == 6);
  CHECK(get(t, "node.dynamic.tau_m").i == 7);
  CHECK(get(t, "node.dynamic.v_th").i == 8);
  CHECK(get(t, "site.main site.port").i == 9);
}

TEST_CASE("toml: table headers", "[config][toml]") {
  FlatTable t = parse(
      "top = 0\n"
      "[sim]\n"
      "dt = 0.1\n"
      "[ node . dynamic . 'lif' ]  # comment after header\n"
      "tau_m = 20.0\n"
      "[empty]\n"
      "[\"quoted\".x]\n"
      "k = 'v'\n");
  CHECK(t.size() == 4);
  CHECK(get(t, "top").i == 0);
  CHECK(get(t, "sim.dt").f == 0.1);
  CHECK(get(t, "node.dynamic.lif.tau_m").f == 20.0);
  CHECK(get(t, "quoted.x.k").s == "v");
  CHECK(t.count("empty") == 0);  // tables without keys leave no entry

  SECTION("a table implicitly created by [a.b] may be defined later") {
    FlatTable u = parse("[a.b]\nx = 1\n[a]\ny = 2\n");
    CHECK(get(u, "a.b.x").i == 1);
    CHECK(get(u, "a.y").i == 2);
  }
  SECTION("a header may define a sub-table of a table made by dotted keys") {
    FlatTable u = parse("[fruit]\napple.color = 'red'\napple.taste.sweet = true\n[fruit.apple.texture]\nsmooth = true\n");
    CHECK(get(u, "fruit.apple.color").s == "red");
    CHECK(get(u, "fruit.apple.taste.sweet").b);
    CHECK(get(u, "fruit.apple.texture.smooth").b);
  }
}

TEST_CASE("toml: basic and literal strings", "[config][toml]") {
  CHECK(string_of("\"hello\"") == "hello");
  CHECK(string_of("\"\"") == "");
  CHECK(string_of("''") == "");
  CHECK(string_of("\"q\\\" b\\\\ n\\n t\\t r\\r b\\b f\\f\"") == "q\" b\\ n\n t\t r\r b\b f\f");
  CHECK(string_of("\"\\u00e9\\u20AC\"") == "\xC3\xA9\xE2\x82\xAC");
  CHECK(string_of("\"\\U0001F600\\U00000041\"") == "\xF0\x9F\x98\x80" "A");
  CHECK(string_of("\"\\u0000\"") == std::string(1, '\0'));
  CHECK(string_of("'C:\\path\\to\\file \"x\"'") == "C:\\path\\to\\file \"x\"");
  CHECK(string_of("\"tab\there # not a comment\"") == "tab\there # not a comment");
  CHECK(string_of("\"gr\xC3\xBC\xC3\x9F \xE2\x9C\x93\"") == "gr\xC3\xBC\xC3\x9F \xE2\x9C\x93");
}

TEST_CASE("toml: integers", "[config][toml]") {
  CHECK(int_of("0") == 0);
  CHECK(int_of("+0") == 0);
  CHECK(int_of("-0") == 0);
  CHECK(int_of("42") == 42);
  CHECK(int_of("+17") == 17);
  CHECK(int_of("-17") == -17);
  CHECK(int_of("1_000_000") == 1000000);
  CHECK(int_of("0xDEAD_beef") == 0xDEADBEEF);
  CHECK(int_of("0x0") == 0);
  CHECK(int_of("0o755") == 0755);
  CHECK(int_of("0b1101_0001") == 0xD1);
  CHECK(int_of("9223372036854775807") == std::numeric_limits<std::int64_t>::max());
  CHECK(int_of("-9223372036854775808") == std::numeric_limits<std::int64_t>::min());
  CHECK(int_of("0x7FFF_FFFF_FFFF_FFFF") == std::numeric_limits<std::int64_t>::max());
  CHECK(int_of("0o777777777777777777777") == std::numeric_limits<std::int64_t>::max());
}

TEST_CASE("toml: floats", "[config][toml]") {
  CHECK(float_of("1.5") == 1.5);
  CHECK(float_of("-0.25") == -0.25);
  CHECK(float_of("+3.0") == 3.0);
  CHECK(float_of("0.1") == 0.1);
  CHECK(float_of("3e2") == 300.0);
  CHECK(float_of("1E-3") == 1e-3);
  CHECK(float_of("6.626e-34") == 6.626e-34);
  CHECK(float_of("2.5E+3") == 2500.0);
  CHECK(float_of("0e5") == 0.0);
  CHECK(float_of("1_000.000_1") == 1000.0001);
  CHECK(float_of("1e1_0") == 1e10);
  CHECK(float_of("1.7976931348623157e308") == std::numeric_limits<double>::max());
  CHECK(float_of("4.9406564584124654e-324") == std::numeric_limits<double>::denorm_min());
  double neg_zero = float_of("-0.0");
  CHECK(neg_zero == 0.0);
  CHECK(std::signbit(neg_zero));
  CHECK(float_of("inf") == std::numeric_limits<double>::infinity());
  CHECK(float_of("+inf") == std::numeric_limits<double>::infinity());
  CHECK(float_of("-inf") == -std::numeric_limits<double>::infinity());
  CHECK(std::isnan(float_of("nan")));
  CHECK(std::isnan(float_of("+nan")));
  CHECK(std::isnan(float_of("-nan")));
}

TEST_CASE("toml: booleans", "[config][toml]") {
  FlatTable t = parse("on = true\noff = false");
  CHECK(get(t, "on").type == Value::Type::Bool);
  CHECK(get(t, "on").b);
  CHECK_FALSE(get(t, "off").b);
}

TEST_CASE("toml: arrays", "[config][toml]") {
  Value a = parse_one("[1, 2, 3]");
  REQUIRE(a.type == Value::Type::Array);
  REQUIRE(a.items.size() == 3);
  CHECK(a.items[2].i == 3);

  CHECK(parse_one("[]").items.empty());
  CHECK(parse_one("[ \n ]").items.empty());
  CHECK(parse_one("[1,2,]").items.size() == 2);
  CHECK(parse_one("[\"a\", 'b']").items[1].s == "b");

  Value mixed = parse_one("[1, 2.5, \"s\", true, [], [[0x10]]]");
  REQUIRE(mixed.items.size() == 6);
  CHECK(mixed.items[1].type == Value::Type::Float);
  CHECK(mixed.items[2].type == Value::Type::String);
  CHECK(mixed.items[3].type == Value::Type::Bool);
  CHECK(mixed.items[4].items.empty());
  CHECK(mixed.items[5].items[0].items[0].i == 16);

  FlatTable t = parse(
      "weights = [  # comment after the bracket\r\n"
      "  0.5,       # first\n"
      "\n"
      "  -1.5 ,\n"
      "  # a comment line inside\n"
      "  2e3,\n"
      "]\n"
      "after = 1\n");
  Value w = get(t, "weights");
  REQUIRE(w.items.size() == 3);
  CHECK(w.items[1].f == -1.5);
  CHECK(w.items[2].f == 2000.0);
  CHECK(get(t, "after").i == 1);

  SECTION("64 levels of nesting are accepted") {
    Value deep = parse_one(std::string(64, '[') + std::string(64, ']'));
    int depth = 0;
    for (const Value* v = &deep; v->type == Value::Type::Array; v = &v->items[0], ++depth) {
      if (v->items.empty()) {
        ++depth;
        break;
      }
    }
    CHECK(depth == 64);
  }
}

TEST_CASE("toml: a realistic configuration file", "[config][toml]") {
  FlatTable t = parse(
      "# spikegraph run\n"
      "name = \"cortex-small\"\n"
      "seed = 12345\n"
      "\n"
      "[sim]\n"
      "dt = 0.1          # ms\n"
      "duration = 1_000.0\n"
      "backend = 'cpu'\n"
      "\n"
      "[node.dynamic]\n"
      "model = \"lif\"\n"
      "tau_m = 20.0\n"
      "v_reset = -65.0\n"
      "record = [\"v\", \"spikes\"]\n"
      "refractory.steps = 20\n");
  CHECK(t.size() == 10);
  CHECK(get(t, "name").s == "cortex-small");
  CHECK(get(t, "sim.duration").f == 1000.0);
  CHECK(get(t, "node.dynamic.v_reset").f == -65.0);
  CHECK(get(t, "node.dynamic.record").items[1].s == "spikes");
  CHECK(get(t, "node.dynamic.refractory.steps").i == 20);
}

// ---- errors ---------------------------------------------------------------------------

TEST_CASE("toml errors: duplicate keys name the key and the first line", "[config][toml][errors]") {
  check_errors({
      {"a = 1\nb = 2\na = 3\n", "t.toml:3:1: duplicate key 'a' (first defined on line 1)"},
      {"a = 1\r\nb = 2\r\na = 3", "t.toml:3:1: duplicate key 'a' (first defined on line 1)"},
      {"[s]\nx = 1\n  x = 2", "t.toml:3:3: duplicate key 's.x' (first defined on line 2)"},
      {"a = 1\n\"a\" = 2", "t.toml:2:1: duplicate key 'a' (first defined on line 1)"},
      {"p.q = 1\n\np . 'q' = 2", "t.toml:3:1: duplicate key 'p.q' (first defined on line 1)"},
  });
}

TEST_CASE("toml errors: redefined tables", "[config][toml][errors]") {
  check_errors({
      {"[a]\nx = 1\n[a]\n", "t.toml:3:1: table [a] is defined twice (first on line 1)"},
      {"[a.b]\n[a]\n\n[a]", "t.toml:4:1: table [a] is defined twice (first on line 2)"},
      {"[a.b]\n[ a . b ]", "t.toml:2:1: table [a.b] is defined twice (first on line 1)"},
      {"a.b = 1\n[a]", "t.toml:2:1: table [a] was already defined by dotted keys on line 1"},
      {"[f]\napple.color = 1\n[f.apple]", "t.toml:3:1: table [f.apple] was already defined by dotted keys on line 2"},
      {"[a.b.c]\n[a]\nb.x = 1",
       "t.toml:3:1: table 'a.b' was created by a [table] header on line 1; dotted keys cannot add to it"},
      {"[a.b.c]\nz = 1\n[a]\nb.c.t = 2",
       "t.toml:4:1: table 'a.b' was created by a [table] header on line 1; dotted keys cannot add to it"},
  });
}

TEST_CASE("toml errors: a key cannot be both a table and a value", "[config][toml][errors]") {
  check_errors({
      {"a = 1\n[a]", "t.toml:2:1: key 'a' is already a value (defined on line 1), so it cannot be a table"},
      {"a = 1\n[a.b]", "t.toml:2:1: key 'a' is already a value (defined on line 1), so it cannot be a table"},
      {"a = 1\na.b = 2", "t.toml:2:1: key 'a' is already a value (defined on line 1), so it cannot be a table"},
      {"[t]\nv = [1]\nv.w.x = 2", "t.toml:3:1: key 't.v' is already a value (defined on line 2), so it cannot be a table"},
      {"[a]\nb.c = 1\nb = 2", "t.toml:3:1: key 'a.b' is already a table (defined on line 2)"},
      {"[a.b]\n[a]\nb = 1", "t.toml:3:1: key 'a.b' is already a table (defined on line 1)"},
  });
}

TEST_CASE("toml errors: malformed keys, headers and missing parts", "[config][toml][errors]") {
  check_errors({
      {"name \"x\"", "t.toml:1:6: missing '=' after key 'name', found '\"'"},
      {"[t]\nkey", "t.toml:2:4: missing '=' after key 't.key', found end of file"},
      {"a b = 1", "t.toml:1:3: missing '=' after key 'a', found 'b'"},
      {"a : 1", "t.toml:1:3: missing '=' after key 'a', found ':'"},
      {"a =\nb = 1", "t.toml:1:4: missing value for key 'a'"},
      {"a = ", "t.toml:1:5: missing value for key 'a'"},
      {"[s]\na.b =   # nothing", "t.toml:2:9: missing value for key 's.a.b'"},
      {"= 1", "t.toml:1:1: expected a key, found '='"},
      {"a. = 1", "t.toml:1:4: expected a key, found '='"},
      {"a..b = 1", "t.toml:1:3: expected a key, found '.'"},
      {"[]", "t.toml:1:2: expected a key, found ']'"},
      {"[a", "t.toml:1:3: expected ']' to close the table header, found end of file"},
      {"[a b]", "t.toml:1:4: expected ']' to close the table header, found 'b'"},
      {"\"\" = 1", "t.toml:1:1: empty quoted keys are not supported"},
      {"x.\"a.b\" = 1", "t.toml:1:3: quoted key \"a.b\" contains '.', which a flat dotted key cannot represent"},
      {"\"abc = 1", "t.toml:1:1: unterminated string (missing closing \")"},
  });
}

TEST_CASE("toml errors: strings", "[config][toml][errors]") {
  check_errors({
      {"s = \"abc\nt = 1", "t.toml:1:5: unterminated string (missing closing \")"},
      {"s = 'abc", "t.toml:1:5: unterminated string (missing closing ')"},
      {"s = \"abc\\\"", "t.toml:1:5: unterminated string (missing closing \")"},
      {"s = \"a\\qb\"", "t.toml:1:7: invalid escape sequence '\\q'"},
      {"s = \"\\e\"", "t.toml:1:6: invalid escape sequence '\\e'"},
      {"s = \"\\x41\"", "t.toml:1:6: invalid escape sequence '\\x'"},
      {"s = \"\\ \"", "t.toml:1:6: invalid escape sequence: '\\' followed by ' '"},
      {"s = \"\\\n\"", "t.toml:1:6: invalid escape sequence: '\\' followed by end of line"},
      {"s = \"\\u12\"", "t.toml:1:6: invalid escape sequence: \\u needs exactly 4 hex digits"},
      {"s = \"\\U0001F60\"", "t.toml:1:6: invalid escape sequence: \\U needs exactly 8 hex digits"},
      {"s = \"\\uD800\"", "t.toml:1:6: invalid escape sequence '\\uD800': not a Unicode scalar value"},
      {"s = \"\\U00110000\"", "t.toml:1:6: invalid escape sequence '\\U00110000': not a Unicode scalar value"},
  });
}

TEST_CASE("toml errors: invalid numbers", "[config][toml][errors]") {
  check_errors({
      {"n = 01", "t.toml:1:5: invalid number '01': leading zeros are not allowed"},
      {"n = -007", "t.toml:1:5: invalid number '-007': leading zeros are not allowed"},
      {"n = 00.5", "t.toml:1:5: invalid number '00.5': leading zeros are not allowed"},
      {"n = 0_1", "t.toml:1:5: invalid number '0_1': leading zeros are not allowed"},
      {"n = 1__2", "t.toml:1:5: invalid number '1__2': '_' must be between two digits"},
      {"n = 1_", "t.toml:1:5: invalid number '1_': '_' must be between two digits"},
      {"n = -_1", "t.toml:1:5: invalid number '-_1': '_' must be between two digits"},
      {"n = 1_.5", "t.toml:1:5: invalid number '1_.5': '_' must be between two digits"},
      {"n = 1._5", "t.toml:1:5: invalid number '1._5': '_' must be between two digits"},
      {"n = 1e_5", "t.toml:1:5: invalid number '1e_5': '_' must be between two digits"},
      {"n = 0x_1", "t.toml:1:5: invalid number '0x_1': '_' must be between two digits"},
      {"n = 1.", "t.toml:1:5: invalid number '1.': expected digits after '.'"},
      {"n = 1.e5", "t.toml:1:5: invalid number '1.e5': expected digits after '.'"},
      {"n = .5", "t.toml:1:5: invalid number '.5': expected a digit"},
      {"n = +", "t.toml:1:5: invalid number '+': expected a digit"},
      {"n = -.5", "t.toml:1:5: invalid number '-.5': expected a digit"},
      {"n = 1e", "t.toml:1:5: invalid number '1e': expected digits in the exponent"},
      {"n = 1e+", "t.toml:1:5: invalid number '1e+': expected digits in the exponent"},
      {"n = 1.5.3", "t.toml:1:5: invalid number '1.5.3': unexpected '.'"},
      {"n = 12abc", "t.toml:1:5: invalid number '12abc': unexpected 'a'"},
      {"n = 0X1F", "t.toml:1:5: invalid number '0X1F': unexpected 'X'"},
      {"n = 0x", "t.toml:1:5: invalid number '0x': expected base-16 digits after '0x'"},
      {"n = 0xG1", "t.toml:1:5: invalid number '0xG1': expected base-16 digits after '0x'"},
      {"n = 0b102", "t.toml:1:5: invalid number '0b102': expected base-2 digits after '0b'"},
      {"n = 0o8", "t.toml:1:5: invalid number '0o8': expected base-8 digits after '0o'"},
      {"n = +0x1", "t.toml:1:5: invalid number '+0x1': a sign is not allowed before 0x, 0o or 0b"},
      {"n = -0b1", "t.toml:1:5: invalid number '-0b1': a sign is not allowed before 0x, 0o or 0b"},
      {"n = +inf_", "t.toml:1:5: invalid number '+inf_': expected a digit"},
  });
}

TEST_CASE("toml errors: out-of-range numbers are never converted silently", "[config][toml][errors]") {
  const std::string range = " is out of range (a 64-bit signed integer holds -9223372036854775808 to 9223372036854775807)";
  check_errors({
      {"n = 9223372036854775808", "t.toml:1:5: integer '9223372036854775808'" + range},
      {"n = -9223372036854775809", "t.toml:1:5: integer '-9223372036854775809'" + range},
      {"n = 99_999_999_999_999_999_999", "t.toml:1:5: integer '99_999_999_999_999_999_999'" + range},
      {"n = 0x8000000000000000", "t.toml:1:5: integer '0x8000000000000000'" + range},
      {"n = 0xFFFFFFFFFFFFFFFF", "t.toml:1:5: integer '0xFFFFFFFFFFFFFFFF'" + range},
      {"n = 0b1" + std::string(63, '0'), "t.toml:1:5: integer '0b1" + std::string(63, '0') + "'" + range},
      {"n = 1e400", "t.toml:1:5: float '1e400' is out of range"},
      {"n = -1.5e309", "t.toml:1:5: float '-1.5e309' is out of range"},
      {"n = 1e-400", "t.toml:1:5: float '1e-400' is out of range"},
  });
}

TEST_CASE("toml errors: values that are not values", "[config][toml][errors]") {
  check_errors({
      {"a = yes", "t.toml:1:5: invalid value 'yes' (strings must be quoted)"},
      {"a = True", "t.toml:1:5: invalid value 'True' (strings must be quoted)"},
      {"a = infinity", "t.toml:1:5: invalid value 'infinity' (strings must be quoted)"},
      {"a = _1", "t.toml:1:5: invalid value '_1' (strings must be quoted)"},
      {"a = ,", "t.toml:1:5: expected a value, found ','"},
      {"a = \xE2\x82\xAC", "t.toml:1:5: expected a value, found '\xE2\x82\xAC'"},
  });
}

TEST_CASE("toml errors: arrays", "[config][toml][errors]") {
  check_errors({
      {"a = [1, 2", "t.toml:1:5: unterminated array (missing ']')"},
      {"a = [1,\n  2,\n  # comment\n", "t.toml:1:5: unterminated array (missing ']')"},
      {"a = [", "t.toml:1:5: unterminated array (missing ']')"},
      {"a = [[1], [2]", "t.toml:1:5: unterminated array (missing ']')"},
      {"a = [1, 2\nb = 3", "t.toml:2:1: expected ',' or ']' in array, found 'b'"},
      {"a = [1 2]", "t.toml:1:8: expected ',' or ']' in array, found '2'"},
      {"a = [1,,2]", "t.toml:1:8: expected a value, found ','"},
      {"a = [,]", "t.toml:1:6: expected a value, found ','"},
      {"a = [1; 2]", "t.toml:1:7: expected ',' or ']' in array, found ';'"},
      {"a = [\"x\" \"y\"]", "t.toml:1:10: expected ',' or ']' in array, found '\"'"},
      {"a = " + std::string(65, '[') + std::string(65, ']'), "t.toml:1:69: arrays are nested too deeply (limit 64)"},
  });
}

TEST_CASE("toml errors: trailing garbage after a value or header", "[config][toml][errors]") {
  check_errors({
      {"a = 1 2", "t.toml:1:7: unexpected '2' after value (expected end of line)"},
      {"a = 1,", "t.toml:1:6: unexpected ',' after value (expected end of line)"},
      {"a = \"x\" y", "t.toml:1:9: unexpected 'y' after value (expected end of line)"},
      {"a = 'x''y'", "t.toml:1:8: unexpected ''' after value (expected end of line)"},
      {"a = [1] ]", "t.toml:1:9: unexpected ']' after value (expected end of line)"},
      {"a = true false", "t.toml:1:10: unexpected 'f' after value (expected end of line)"},
      {"a = 1 b = 2", "t.toml:1:7: unexpected 'b' after value (expected end of line)"},
      {"[t] x = 1", "t.toml:1:5: unexpected 'x' after table header (expected end of line)"},
      {"[t]]", "t.toml:1:4: unexpected ']' after table header (expected end of line)"},
  });
}

TEST_CASE("toml errors: control characters and invalid UTF-8", "[config][toml][errors]") {
  check_errors({
      {"s = \"a\x01z\"", "t.toml:1:7: control character U+0001 is not allowed in a string; use an escape sequence"},
      {"s = 'a\x7f'", "t.toml:1:7: control character U+007F is not allowed in a string; use an escape sequence"},
      {std::string("s = \"a\0\"", 8), "t.toml:1:7: control character U+0000 is not allowed in a string; use an escape sequence"},
      {"s = \"a\rb\"", "t.toml:1:7: control character U+000D is not allowed in a string; use an escape sequence"},
      {"# note \x1b[0m\n", "t.toml:1:8: control character U+001B is not allowed in a comment"},
      {"a = 1 # \r\n# x\x7f", "t.toml:2:4: control character U+007F is not allowed in a comment"},
      {"a = 1\rb = 2", "t.toml:1:6: unexpected control character U+000D after value (expected end of line)"},
      {"\x02" "a = 1", "t.toml:1:1: expected a key, found control character U+0002"},
      {"a = \x0c", "t.toml:1:5: expected a value, found control character U+000C"},
      {"s = \"\xff\"", "t.toml:1:6: invalid UTF-8 byte sequence"},
      {"s = \"\xC0\xAF\"", "t.toml:1:6: invalid UTF-8 byte sequence"},
      {"s = \"\xED\xA0\x80\"", "t.toml:1:6: invalid UTF-8 byte sequence"},
      {"s = \"\xF4\x90\x80\x80\"", "t.toml:1:6: invalid UTF-8 byte sequence"},
      {"s = \"\xE2\x82\"", "t.toml:1:6: invalid UTF-8 byte sequence"},
      {"a = 1\n# \xE2\x82", "t.toml:2:3: invalid UTF-8 byte sequence"},
  });
}

TEST_CASE("toml errors: unsupported constructs are named", "[config][toml][errors]") {
  check_errors({
      {"[sim]\nnode = { tau = 1 }", "t.toml:2:8: inline tables are not supported; use a [table] header"},
      {"a = [{x = 1}]", "t.toml:1:6: inline tables are not supported; use a [table] header"},
      {"[[points]]\nx = 1", "t.toml:1:1: arrays of tables ([[...]]) are not supported"},
      {"s = \"\"\"multi\"\"\"", "t.toml:1:5: multi-line strings are not supported"},
      {"s = '''multi'''", "t.toml:1:5: multi-line strings are not supported"},
      {"d = 1979-05-27", "t.toml:1:5: dates and times are not supported"},
      {"d = 1979-05-27T07:32:00Z", "t.toml:1:5: dates and times are not supported"},
      {"d = 1979-05-27 07:32:00", "t.toml:1:5: dates and times are not supported"},
      {"t = 07:32:00", "t.toml:1:5: dates and times are not supported"},
  });
}

TEST_CASE("toml errors: columns count characters, not bytes", "[config][toml][errors]") {
  // "é" is two bytes but one column; a tab is one column.
  CHECK(error_of("\"\xC3\xA9\" = 1 2") == "t.toml:1:9: unexpected '2' after value (expected end of line)");
  CHECK(error_of("\tx = 1 2") == "t.toml:1:8: unexpected '2' after value (expected end of line)");
  CHECK(error_of("x = 1 \xE2\x82\xAC") == "t.toml:1:7: unexpected '\xE2\x82\xAC' after value (expected end of line)");
}

// ---- files ----------------------------------------------------------------------------

TEST_CASE("toml: parse_toml_file", "[config][toml][io]") {
  SECTION("reads and parses a file; errors name the path") {
    std::filesystem::path path = temp_path("ok.toml");
    {
      std::ofstream out(path, std::ios::binary);
      out << "[sim]\ndt = 0.5\nsteps = 10\n";
    }
    FlatTable t = parse_toml_file(path.string());
    std::filesystem::remove(path);
    CHECK(get(t, "sim.dt").f == 0.5);
    CHECK(get(t, "sim.steps").i == 10);
  }
  SECTION("parse errors name the file") {
    std::filesystem::path path = temp_path("bad.toml");
    {
      std::ofstream out(path, std::ios::binary);
      out << "a = 1\na = 2\n";
    }
    std::string message;
    try {
      parse_toml_file(path.string());
    } catch (const ConfigError& e) {
      message = e.what();
    }
    std::filesystem::remove(path);
    CHECK(message == path.string() + ":2:1: duplicate key 'a' (first defined on line 1)");
  }
  SECTION("a missing file is an IoError") {
    std::string path = temp_path("does_not_exist.toml").string();
    try {
      parse_toml_file(path);
      FAIL("no error");
    } catch (const IoError& e) {
      CHECK(std::string(e.what()) == "read config: cannot open '" + path + "': No such file or directory");
    }
  }
  SECTION("a directory cannot be read") {
    std::filesystem::path dir = temp_path("dir");
    std::filesystem::create_directory(dir);
    std::string message;
    try {
      parse_toml_file(dir.string());
    } catch (const IoError& e) {
      message = e.what();
    }
    std::filesystem::remove(dir);
    CHECK_THAT(message, Contains("read config: cannot") && Contains("'" + dir.string() + "'"));
  }
}

// ---- Value ----------------------------------------------------------------------------

TEST_CASE("Value::type_name", "[config][value]") {
  CHECK(std::string(Value::boolean(true).type_name()) == "boolean");
  CHECK(std::string(Value::integer(1).type_name()) == "integer");
  CHECK(std::string(Value::real(1.0).type_name()) == "float");
  CHECK(std::string(Value::string("x").type_name()) == "string");
  CHECK(std::string(Value::array({}).type_name()) == "array");
}

TEST_CASE("Value::to_string renders TOML", "[config][value]") {
  CHECK(Value::boolean(true).to_string() == "true");
  CHECK(Value::boolean(false).to_string() == "false");
  CHECK(Value::integer(-42).to_string() == "-42");
  CHECK(Value::integer(std::numeric_limits<std::int64_t>::min()).to_string() == "-9223372036854775808");
  CHECK(Value::real(1.0).to_string() == "1.0");
  CHECK(Value::real(-2.5).to_string() == "-2.5");
  CHECK(Value::real(0.1).to_string() == "0.1");
  CHECK(Value::real(1e20).to_string() == "1e+20");
  CHECK(Value::real(-0.0).to_string() == "-0.0");
  CHECK(Value::real(std::numeric_limits<double>::infinity()).to_string() == "inf");
  CHECK(Value::real(-std::numeric_limits<double>::infinity()).to_string() == "-inf");
  CHECK(Value::real(std::numeric_limits<double>::quiet_NaN()).to_string() == "nan");
  CHECK(Value::string("plain").to_string() == "\"plain\"");
  CHECK(Value::string("q\" b\\ \n\t\r\b\f\x01\x7f \xC3\xA9").to_string() ==
        "\"q\\\" b\\\\ \\n\\t\\r\\b\\f\\u0001\\u007F \xC3\xA9\"");
  CHECK(Value::array({}).to_string() == "[]");
  CHECK(Value::array({Value::integer(1), Value::string("x"), Value::array({Value::boolean(true)})}).to_string() ==
        "[1, \"x\", [true]]");
}

TEST_CASE("Value::to_string output reads back as the same value", "[config][value][toml]") {
  const double doubles[] = {0.1, 1.0 / 3.0, -2.5, 1e20, 123456789012345678.0, 6.02214076e23, 1e-7, 5e-324,
                            std::numeric_limits<double>::max(), std::numeric_limits<double>::min(), -0.0, 0.0};
  for (double d : doubles) {
    std::string text = Value::real(d).to_string();
    INFO("rendered: " << text);
    double back = float_of(text);
    CHECK(back == d);
    CHECK(std::signbit(back) == std::signbit(d));
  }
  for (std::int64_t i : {std::int64_t{0}, std::int64_t{-1}, std::numeric_limits<std::int64_t>::max(),
                         std::numeric_limits<std::int64_t>::min()}) {
    CHECK(int_of(Value::integer(i).to_string()) == i);
  }
  const std::string s = std::string("all \"escapes\" \\ \n\t\r\b\f \x01\x1f\x7f ") + std::string(1, '\0') + "\xE2\x82\xAC";
  CHECK(string_of(Value::string(s).to_string()) == s);
  Value nested = Value::array({Value::real(0.5), Value::array({Value::string("a"), Value::integer(-3)}), Value::boolean(false)});
  Value back = parse_one(nested.to_string());
  CHECK(back.to_string() == nested.to_string());
}
