// spikegraph/config/toml.hpp
// A small, strict reader for simulation configuration files written in a subset of
// TOML 1.0. The result is a FlatTable: every value is stored under its full dotted key
// ("node.dynamic.tau_m" for `tau_m` under `[node.dynamic]`). Values carry no units;
// the schema that consumes the FlatTable gives them meaning.
//
// Supported: comments, blank lines, table headers ([a], [a.b.c], quoted segments),
// bare / quoted / dotted keys, basic strings with escapes (\" \\ \n \t \r \b \f
// \uXXXX \UXXXXXXXX), literal strings, integers (decimal, 0x, 0o, 0b, underscores
// between digits), floats (fraction, exponent, inf, nan), booleans and arrays (nested,
// multi-line, trailing comma, comments inside; element types may be mixed).
//
// Not supported (rejected with a ConfigError that names the construct): inline tables,
// arrays of tables, multi-line strings, dates and times. Key segments must be
// non-empty and must not contain '.', because the flat dotted key could not tell
// `"a.b" = 1` from `a.b = 1`. Tables that contain no keys leave no entry in the result.
//
// Every error is a spikegraph::ConfigError whose message reads
// "<source>:<line>:<column>: <what>", with 1-based line and column (the column counts
// Unicode characters, a tab counts as one).
#pragma once

#include <string>
#include <string_view>

#include "spikegraph/config/value.hpp"

namespace spikegraph::config {

/// Parses TOML `text` (UTF-8; a leading byte-order mark is skipped). `source_name`
/// only appears in error messages (a file path, or "<string>"). The text is not
/// retained; the returned table owns all of its data.
/// Throws spikegraph::ConfigError on any syntax error, duplicate or conflicting key,
/// out-of-range number or unsupported construct.
FlatTable parse_toml(std::string_view text, const std::string& source_name);

/// Reads the file at `path` and parses it with parse_toml (the path is the source
/// name in messages). Throws spikegraph::IoError("read config: cannot open '<path>':
/// <reason>") if the file cannot be opened or read, and ConfigError on parse errors.
FlatTable parse_toml_file(const std::string& path);

}  // namespace spikegraph::config
