// spikegraph/config/toml.cpp
// Strict reader for the TOML subset documented in toml.hpp. A single-pass recursive
// descent parser over the UTF-8 text; positions are byte offsets, turned into
// line:column only when an error is reported.
#include "spikegraph/config/toml.hpp"

#include <charconv>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <system_error>
#include <utility>
#include <vector>

#include "spikegraph/core/error.hpp"

namespace spikegraph::config {
namespace {

constexpr int kMaxArrayDepth = 64;

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool is_bare_key_char(char c) { return is_alnum(c) || c == '_' || c == '-'; }
// Characters that may form an unquoted value: numbers, booleans, inf/nan, dates.
bool is_scalar_char(char c) { return is_alnum(c) || c == '_' || c == '+' || c == '-' || c == '.' || c == ':'; }
// Control characters other than tab (newlines are handled by the caller).
bool is_control(unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7f; }

int digit_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return 99;
}
bool is_digit(char c, int base) { return digit_value(c) < base; }

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

class Parser {
 public:
  Parser(std::string_view text, const std::string& source) : text_(text), source_(source) {}

  FlatTable run() {
    if (text_.substr(0, 3) == "\xEF\xBB\xBF") start_ = pos_ = 3;
    check_utf8();
    while (!eof()) {
      skip_ws();
      if (peek() == '[') {
        parse_header();
        end_line("table header");
      } else if (!eof() && peek() != '#' && !at_newline()) {
        parse_keyval();
        end_line("value");
      } else {
        end_line("comment");
      }
    }
    return std::move(out_);
  }

 private:
  // How a dotted path came to exist; decides which later definitions may reuse it.
  enum class Kind { Value, Header, Implicit, Dotted };
  struct Node {
    Kind kind;
    std::size_t pos;  // where it was defined, for "first defined on line N"
  };

  std::string_view text_;
  const std::string& source_;
  std::size_t start_ = 0;  // after the byte-order mark, if any
  std::size_t pos_ = 0;
  std::string table_;  // dotted name of the current [table]; "" at the root
  std::map<std::string, Node> nodes_;
  FlatTable out_;

  // ---- errors -------------------------------------------------------------------
  [[noreturn]] void fail(std::size_t at, const std::string& what) const {
    std::size_t line = 1, col = 1;
    for (std::size_t k = start_; k < at; ++k) {
      if (text_[k] == '\n') {
        ++line;
        col = 1;
      } else if ((static_cast<unsigned char>(text_[k]) & 0xC0) != 0x80) {
        ++col;
      }
    }
    throw ConfigError(source_ + ":" + std::to_string(line) + ":" + std::to_string(col) + ": " + what);
  }

  std::size_t line_of(std::size_t at) const {
    std::size_t line = 1;
    for (std::size_t k = 0; k < at; ++k) line += text_[k] == '\n';
    return line;
  }
  std::string on_line(const Node& n) const { return "line " + std::to_string(line_of(n.pos)); }

  // Names the character at `at` for a message: 'x', "end of line", "control character U+0001".
  std::string describe(std::size_t at) const {
    if (at >= text_.size()) return "end of file";
    auto c = static_cast<unsigned char>(text_[at]);
    if (c == '\n' || (c == '\r' && at + 1 < text_.size() && text_[at + 1] == '\n')) return "end of line";
    if (is_control(c)) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "U+%04X", c);
      return std::string("control character ") + buf;
    }
    std::size_t n = 1;
    while (at + n < text_.size() && (static_cast<unsigned char>(text_[at + n]) & 0xC0) == 0x80) ++n;
    return "'" + std::string(text_.substr(at, n)) + "'";
  }

  void check_utf8() const {
    static const std::uint32_t min_cp[] = {0, 0, 0x80, 0x800, 0x10000};  // rejects overlong forms
    for (std::size_t k = start_; k < text_.size();) {
      auto c = static_cast<unsigned char>(text_[k]);
      std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
      bool ok = len != 0 && k + len <= text_.size();
      std::uint32_t cp = len == 1 ? c : c & (0x7F >> len);
      for (std::size_t j = 1; ok && j < len; ++j) {
        auto d = static_cast<unsigned char>(text_[k + j]);
        ok = (d & 0xC0) == 0x80;
        cp = (cp << 6) | (d & 0x3F);
      }
      if (!ok || cp < min_cp[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        fail(k, "invalid UTF-8 byte sequence");
      }
      k += len;
    }
  }

  // ---- low-level scanning --------------------------------------------------------
  bool eof() const { return pos_ >= text_.size(); }
  char peek(std::size_t ahead = 0) const { return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0'; }
  bool at_newline() const { return peek() == '\n' || (peek() == '\r' && peek(1) == '\n'); }
  void skip_newline() { pos_ += peek() == '\r' ? 2 : 1; }
  void skip_ws() {
    while (peek() == ' ' || peek() == '\t') ++pos_;
  }
  void skip_comment() {
    if (peek() != '#') return;
    for (++pos_; !eof() && !at_newline(); ++pos_) {
      if (is_control(static_cast<unsigned char>(text_[pos_]))) {
        fail(pos_, describe(pos_) + " is not allowed in a comment");
      }
    }
  }
  // Whitespace, an optional comment, then a newline or the end of the text.
  void end_line(const char* after) {
    skip_ws();
    skip_comment();
    if (eof()) return;
    if (!at_newline()) fail(pos_, "unexpected " + describe(pos_) + " after " + after + " (expected end of line)");
    skip_newline();
  }

  // ---- keys and tables -----------------------------------------------------------
  // key = simple-key *( '.' simple-key ), whitespace allowed around the dots.
  std::vector<std::string> parse_key() {
    std::vector<std::string> parts;
    for (;;) {
      skip_ws();
      std::size_t at = pos_;
      std::string part;
      if (peek() == '"' || peek() == '\'') {
        part = parse_string();
        if (part.empty()) fail(at, "empty quoted keys are not supported");
        if (part.find('.') != std::string::npos) {
          fail(at, "quoted key \"" + part + "\" contains '.', which a flat dotted key cannot represent");
        }
      } else {
        while (is_bare_key_char(peek())) part += text_[pos_++];
        if (part.empty()) fail(at, "expected a key, found " + describe(at));
      }
      parts.push_back(std::move(part));
      skip_ws();
      if (peek() != '.') return parts;
      ++pos_;
    }
  }

  void parse_header() {
    std::size_t at = pos_;
    if (peek(1) == '[') fail(at, "arrays of tables ([[...]]) are not supported");
    ++pos_;
    std::vector<std::string> parts = parse_key();
    if (peek() != ']') fail(pos_, "expected ']' to close the table header, found " + describe(pos_));
    ++pos_;
    std::string path;
    for (std::size_t k = 0; k < parts.size(); ++k) {
      path += (k ? "." : "") + parts[k];
      bool last = k + 1 == parts.size();
      auto [it, added] = nodes_.emplace(path, Node{last ? Kind::Header : Kind::Implicit, at});
      if (added) continue;
      Node& node = it->second;
      if (node.kind == Kind::Value) {
        fail(at, "key '" + path + "' is already a value (defined on " + on_line(node) + "), so it cannot be a table");
      }
      if (!last) continue;
      if (node.kind == Kind::Header) fail(at, "table [" + path + "] is defined twice (first on " + on_line(node) + ")");
      if (node.kind == Kind::Dotted) {
        fail(at, "table [" + path + "] was already defined by dotted keys on " + on_line(node));
      }
      node = Node{Kind::Header, at};  // implicitly created by an earlier [path.sub] header
    }
    table_ = path;
  }

  void parse_keyval() {
    std::size_t at = pos_;
    std::vector<std::string> parts = parse_key();
    std::string key = table_;
    for (std::size_t k = 0; k < parts.size(); ++k) {
      key += (key.empty() ? "" : ".") + parts[k];
      bool last = k + 1 == parts.size();
      auto [it, added] = nodes_.emplace(key, Node{last ? Kind::Value : Kind::Dotted, at});
      if (added) continue;
      const Node& node = it->second;
      if (node.kind == Kind::Value) {
        if (last) fail(at, "duplicate key '" + key + "' (first defined on " + on_line(node) + ")");
        fail(at, "key '" + key + "' is already a value (defined on " + on_line(node) + "), so it cannot be a table");
      }
      if (last) fail(at, "key '" + key + "' is already a table (defined on " + on_line(node) + ")");
      if (node.kind != Kind::Dotted) {
        fail(at, "table '" + key + "' was created by a [table] header on " + on_line(node) +
                     "; dotted keys cannot add to it");
      }
    }
    skip_ws();
    if (peek() != '=') fail(pos_, "missing '=' after key '" + key + "', found " + describe(pos_));
    ++pos_;
    skip_ws();
    if (eof() || at_newline() || peek() == '#') fail(pos_, "missing value for key '" + key + "'");
    out_.emplace(key, parse_value(0));
  }

  // ---- values --------------------------------------------------------------------
  Value parse_value(int depth) {
    std::size_t at = pos_;
    char c = peek();
    if (c == '"' || c == '\'') {
      if (peek(1) == c && peek(2) == c) fail(at, "multi-line strings are not supported");
      return Value::string(parse_string());
    }
    if (c == '[') return parse_array(depth);
    if (c == '{') fail(at, "inline tables are not supported; use a [table] header");
    std::size_t end = pos_;
    while (end < text_.size() && is_scalar_char(text_[end])) ++end;
    if (end == pos_) fail(at, "expected a value, found " + describe(at));
    std::string_view token = text_.substr(pos_, end - pos_);
    pos_ = end;
    if (token == "true" || token == "false") return Value::boolean(token == "true");
    // "07:32..." or "1979-05...": a time or a date, not a number.
    bool date = token.size() >= 5 && is_digit(token[0], 10) && is_digit(token[1], 10) &&
                (token[2] == ':' || (is_digit(token[2], 10) && is_digit(token[3], 10) && token[4] == '-'));
    if (date) fail(at, "dates and times are not supported");
    if (!is_digit(token[0], 10) && std::strchr("+-.", token[0]) == nullptr && token != "inf" && token != "nan") {
      fail(at, "invalid value '" + std::string(token) + "' (strings must be quoted)");
    }
    return parse_number(token, at);
  }

  // Basic ("...") or literal ('...') single-line string; pos_ is on the opening quote.
  std::string parse_string() {
    std::size_t open = pos_;
    char quote = text_[pos_++];
    std::string out;
    for (;;) {
      if (eof() || at_newline()) fail(open, std::string("unterminated string (missing closing ") + quote + ")");
      auto c = static_cast<unsigned char>(text_[pos_]);
      if (c == static_cast<unsigned char>(quote)) break;
      if (is_control(c)) fail(pos_, describe(pos_) + " is not allowed in a string; use an escape sequence");
      if (c == '\\' && quote == '"') {
        parse_escape(out);
      } else {
        out += static_cast<char>(c);
        ++pos_;
      }
    }
    ++pos_;
    return out;
  }

  void parse_escape(std::string& out) {
    std::size_t at = pos_++;
    char c = peek();
    static const char kEscapes[] = "\"\\bfnrt";      // \" \\ \b \f \n \r \t
    static const char kMeanings[] = "\"\\\b\f\n\r\t";
    const char* simple = c != '\0' ? std::strchr(kEscapes, c) : nullptr;
    if (simple != nullptr) {
      out += kMeanings[simple - kEscapes];
      ++pos_;
      return;
    }
    if (c != 'u' && c != 'U') {
      if (c > ' ' && c < 0x7f) fail(at, std::string("invalid escape sequence '\\") + c + "'");
      fail(at, "invalid escape sequence: '\\' followed by " + describe(pos_));
    }
    std::size_t n = c == 'u' ? 4 : 8;
    std::uint32_t cp = 0;
    for (std::size_t k = 1; k <= n; ++k) {
      if (!is_digit(peek(k), 16)) {
        fail(at, std::string("invalid escape sequence: \\") + c + " needs exactly " + std::to_string(n) + " hex digits");
      }
      cp = cp * 16 + static_cast<std::uint32_t>(digit_value(peek(k)));
    }
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      std::string seq(text_.substr(pos_, n + 1));
      fail(at, "invalid escape sequence '\\" + seq + "': not a Unicode scalar value");
    }
    append_utf8(out, cp);
    pos_ += n + 1;
  }

  // pos_ is on '['. Elements may be separated by newlines and comments.
  Value parse_array(int depth) {
    std::size_t open = pos_++;
    if (depth >= kMaxArrayDepth) {
      fail(open, "arrays are nested too deeply (limit " + std::to_string(kMaxArrayDepth) + ")");
    }
    std::vector<Value> items;
    for (;;) {
      skip_array_space(open);
      if (peek() == ']') break;  // empty array or trailing comma
      items.push_back(parse_value(depth + 1));
      skip_array_space(open);
      if (peek() == ']') break;
      if (peek() != ',') fail(pos_, "expected ',' or ']' in array, found " + describe(pos_));
      ++pos_;
    }
    ++pos_;
    return Value::array(std::move(items));
  }
  void skip_array_space(std::size_t open) {
    for (;;) {
      skip_ws();
      skip_comment();
      if (!at_newline()) break;
      skip_newline();
    }
    if (eof()) fail(open, "unterminated array (missing ']')");
  }

  // Integer or float token. Errors point at the start of the token.
  Value parse_number(std::string_view tok, std::size_t at) {
    auto bad = [&](const std::string& why) { fail(at, "invalid number '" + std::string(tok) + "': " + why); };
    bool neg = tok[0] == '-';
    std::string_view body = tok.substr(tok[0] == '+' || neg ? 1 : 0);
    if (body == "inf") return Value::real(neg ? -HUGE_VAL : HUGE_VAL);
    if (body == "nan") return Value::real(std::copysign(std::numeric_limits<double>::quiet_NaN(), neg ? -1.0 : 1.0));
    std::size_t p = 0;
    if (body.size() > 1 && body[0] == '0' && (body[1] == 'x' || body[1] == 'o' || body[1] == 'b')) {
      if (body.size() != tok.size()) bad("a sign is not allowed before 0x, 0o or 0b");
      int base = body[1] == 'x' ? 16 : body[1] == 'o' ? 8 : 2;
      p = 2;
      std::string digits = take_digits(body, p, base, bad);
      if (digits.empty() || p != body.size()) {
        bad("expected base-" + std::to_string(base) + " digits after '0" + body[1] + "'");
      }
      return Value::integer(to_int(digits, base, false, tok, at));
    }
    std::string digits = take_digits(body, p, 10, bad);
    if (digits.empty()) bad("expected a digit");
    if (digits.size() > 1 && digits[0] == '0') bad("leading zeros are not allowed");
    std::string repr = (neg ? "-" : "") + digits;
    if (p < body.size() && body[p] == '.') {
      std::string frac = take_digits(body, ++p, 10, bad);
      if (frac.empty()) bad("expected digits after '.'");
      repr += "." + frac;
    }
    if (p < body.size() && (body[p] == 'e' || body[p] == 'E')) {
      repr += 'e';
      if (++p < body.size() && (body[p] == '+' || body[p] == '-')) repr += body[p++];
      std::string exp = take_digits(body, p, 10, bad);
      if (exp.empty()) bad("expected digits in the exponent");
      repr += exp;
    }
    if (p != body.size()) bad("unexpected '" + std::string(1, body[p]) + "'");
    if (repr.find_first_of(".e") == std::string::npos) return Value::integer(to_int(digits, 10, neg, tok, at));
    double value = 0.0;
    auto res = std::from_chars(repr.data(), repr.data() + repr.size(), value);
    if (res.ec == std::errc::result_out_of_range) fail(at, "float '" + std::string(tok) + "' is out of range");
    return Value::real(value);
  }

  // Reads digits of `base` from s[p...], allowing single '_' between two digits.
  template <class Bad>
  static std::string take_digits(std::string_view s, std::size_t& p, int base, Bad& bad) {
    std::string out;
    for (; p < s.size(); ++p) {
      if (s[p] == '_') {
        if (out.empty() || p + 1 >= s.size() || !is_digit(s[p + 1], base)) bad("'_' must be between two digits");
      } else if (is_digit(s[p], base)) {
        out += s[p];
      } else {
        break;
      }
    }
    return out;
  }

  std::int64_t to_int(const std::string& digits, int base, bool neg, std::string_view tok, std::size_t at) const {
    const std::uint64_t limit = neg ? std::uint64_t{1} << 63 : static_cast<std::uint64_t>(INT64_MAX);
    std::uint64_t v = 0;
    for (char c : digits) {
      auto d = static_cast<std::uint64_t>(digit_value(c));
      if (v > (limit - d) / static_cast<std::uint64_t>(base)) {
        fail(at, "integer '" + std::string(tok) +
                     "' is out of range (a 64-bit signed integer holds -9223372036854775808 to 9223372036854775807)");
      }
      v = v * static_cast<std::uint64_t>(base) + d;
    }
    if (neg && v != 0) return -static_cast<std::int64_t>(v - 1) - 1;
    return static_cast<std::int64_t>(v);
  }
};

}  // namespace

FlatTable parse_toml(std::string_view text, const std::string& source_name) {
  return Parser(text, source_name).run();
}

FlatTable parse_toml_file(const std::string& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) throw IoError("read config: cannot open '" + path + "': " + std::strerror(errno));
  std::string text;
  char buf[1 << 16];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, file.get())) > 0) text.append(buf, n);
  if (std::ferror(file.get())) throw IoError("read config: cannot read '" + path + "': " + std::strerror(errno));
  return parse_toml(text, path);
}

}  // namespace spikegraph::config
