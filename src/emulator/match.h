// SearchMedia's Match expressions (a subset of the VOD media-search
// protocol), parsed into a predicate over a record's JSON plus what the
// expression proves about the record's times, so that a search can find its
// candidates by binary search instead of testing every record.
//
//   cond  := field '=' value | field '=' range | field 'in' '(' values ')'
//          | '(' expr ')'
//   expr  := cond (('and' | 'or') cond)*      ('or' must be parenthesised
//                                              at top level, as documented)
//   value := 'quoted' | bare      range := ('(' | '[') v ',' v (')' | ']')
//
// Range values of CreationTime and ModificationTime are ISO 8601 times
// ('2024-01-01T00:00:00Z') or epoch milliseconds; an empty end is unbounded.
//
// Thread-safety: ParseMatch is a pure function; a MatchQuery is immutable
// and its predicate may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "vodfs/util/result.h"

namespace vodfs::emu {

// Inclusive bounds in Unix seconds; the default holds every time.
struct TimeRange {
  int64_t min = std::numeric_limits<int64_t>::min();
  int64_t max = std::numeric_limits<int64_t>::max();

  bool Contains(int64_t t) const { return t >= min && t <= max; }
  bool Empty() const { return min > max; }
  bool Unbounded() const {
    return min == std::numeric_limits<int64_t>::min() && max == std::numeric_limits<int64_t>::max();
  }
};

// A range on one time field as written: each end in epoch milliseconds
// (an ISO time is its second times 1000), open or closed; nullopt: no end.
struct TimeBound {
  std::optional<int64_t> lo_ms, hi_ms;
  bool lo_open = false, hi_open = false;

  // The whole seconds the bound holds (record times are whole seconds).
  TimeRange Seconds() const;
  // Narrows this bound to what both hold (`a and b`); of two equal ends the
  // open one is the narrower.
  void Intersect(const TimeBound& other);
};

struct MatchQuery {
  // True for the records the expression selects; empty for an empty Match.
  // It reads the fields of the record's search JSON (VideoId, Title, ...,
  // MediaId, MediaType) as SearchMedia renders them.
  std::function<bool(const nlohmann::json&)> predicate;
  // What every record the predicate selects satisfies: the CreationTime and
  // ModificationTime ranges of the top-level conjunction (unbounded when
  // the expression proves nothing, e.g. under an 'or').
  TimeBound creation, modification;
  // True when the predicate is exactly `creation and modification`: the
  // bounds alone then decide, and no record needs its JSON.
  bool exact = true;
};

// Parses a Match value. Errors are the API's InvalidParameter for "Match".
Result<MatchQuery> ParseMatch(std::string_view match);

}  // namespace vodfs::emu
