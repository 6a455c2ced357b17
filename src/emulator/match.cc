#include "emulator/match.h"

#include <cctype>
#include <set>
#include <string>
#include <vector>

#include "vodfs/util/strings.h"
#include "vodfs/util/time_format.h"

namespace vodfs::emu {

using nlohmann::json;

namespace {

// floor(a / b) and ceil(a / b) for b > 0 (C++ division truncates).
int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && (a < 0)); }
int64_t CeilDiv(int64_t a, int64_t b) { return a / b + ((a % b != 0) && (a > 0)); }

struct Token {
  enum Kind { kWord, kString, kSym, kEnd } kind;
  std::string text;
};

using Pred = std::function<bool(const json&)>;

// A parsed (sub)expression: its predicate and what it proves.
struct Parsed {
  Pred pred;
  TimeBound creation, modification;
  bool exact = true;  // pred == creation and modification
};

class MatchParser {
 public:
  explicit MatchParser(std::string_view s) : s_(s) { Next(); }

  Result<Parsed> Parse() {
    auto p = ParseExpr(true);
    if (!p.ok()) return p;
    if (tok_.kind != Token::kEnd) return Fail("unexpected '" + tok_.text + "'");
    return p;
  }

 private:
  // The API's InvalidParameter error for "Match".
  static Error Fail(const std::string& why) {
    Error e(ErrorCode::kUnknown, "The specified parameter \"Match\" is not valid. " + why);
    e.http_status = 400;
    e.service_code = "InvalidParameter";
    return e;
  }

  void Next() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    if (pos_ >= s_.size()) {
      tok_ = {Token::kEnd, ""};
      return;
    }
    char c = s_[pos_];
    if (c == '\'') {
      size_t end = s_.find('\'', pos_ + 1);
      if (end == std::string_view::npos) {
        tok_ = {Token::kSym, "'"};
        pos_ = s_.size();
        bad_quote_ = true;
        return;
      }
      tok_ = {Token::kString, std::string(s_.substr(pos_ + 1, end - pos_ - 1))};
      pos_ = end + 1;
      return;
    }
    if (c == '=' || c == '(' || c == ')' || c == '[' || c == ']' || c == ',') {
      tok_ = {Token::kSym, std::string(1, c)};
      ++pos_;
      return;
    }
    size_t start = pos_;
    while (pos_ < s_.size() && !std::isspace(static_cast<unsigned char>(s_[pos_])) &&
           std::string_view("=()[],'").find(s_[pos_]) == std::string_view::npos)
      ++pos_;
    tok_ = {Token::kWord, std::string(s_.substr(start, pos_ - start))};
  }

  bool AtSym(const char* sym) const { return tok_.kind == Token::kSym && tok_.text == sym; }

  Result<Parsed> ParseExpr(bool top) {
    auto left = ParseCond();
    if (!left.ok()) return left;
    Parsed acc = std::move(left).value();
    while (tok_.kind == Token::kWord &&
           (str::EqualsIgnoreCase(tok_.text, "and") || str::EqualsIgnoreCase(tok_.text, "or"))) {
      bool is_or = str::EqualsIgnoreCase(tok_.text, "or");
      if (is_or && top) return Fail("'or' must be inside parentheses");
      Next();
      auto right = ParseCond();
      if (!right.ok()) return right;
      Parsed r = std::move(right).value();
      Pred lp = acc.pred, rp = r.pred;
      if (is_or) {
        // A disjunction proves nothing about the times of what it selects.
        acc = Parsed{[lp, rp](const json& j) { return lp(j) || rp(j); }, {}, {}, false};
      } else {
        acc.pred = [lp, rp](const json& j) { return lp(j) && rp(j); };
        acc.creation.Intersect(r.creation);
        acc.modification.Intersect(r.modification);
        acc.exact = acc.exact && r.exact;
      }
    }
    return acc;
  }

  Result<Parsed> ParseCond() {
    if (bad_quote_) return Fail("unterminated quote");
    if (AtSym("(")) {
      Next();
      auto inner = ParseExpr(false);
      if (!inner.ok()) return inner;
      if (!AtSym(")")) return Fail("missing ')'");
      Next();
      return inner;
    }
    if (tok_.kind != Token::kWord) return Fail("expected a field name");
    std::string field = tok_.text;
    static const std::set<std::string> kFuzzy = {"Title", "Tags", "Description"};
    static const std::set<std::string> kRange = {"CreationTime", "ModificationTime", "Duration"};
    if (!ExactOnly(field) && !kFuzzy.count(field) && !kRange.count(field)) {
      return Fail("field '" + field + "' is not searchable");
    }
    Next();
    const bool fuzzy = kFuzzy.count(field) > 0;
    if (tok_.kind == Token::kWord && str::EqualsIgnoreCase(tok_.text, "in")) {
      Next();
      if (!AtSym("(")) return Fail("expected '(' after in");
      Next();
      std::vector<std::string> values;
      while (true) {
        if (tok_.kind != Token::kString && tok_.kind != Token::kWord)
          return Fail("expected a value");
        values.push_back(tok_.text);
        Next();
        if (AtSym(",")) {
          Next();
          continue;
        }
        if (AtSym(")")) break;
        return Fail("expected ',' or ')'");
      }
      Next();
      return Parsed{[field, values, fuzzy](const json& j) {
                      std::string v = FieldText(j, field);
                      for (const auto& x : values) {
                        if (fuzzy ? Contains(v, x) : v == x) return true;
                      }
                      return false;
                    },
                    {},
                    {},
                    false};
    }
    if (!AtSym("=")) return Fail("expected '=' or 'in'");
    Next();
    if (AtSym("(") || AtSym("[")) return ParseRange(field);
    if (tok_.kind != Token::kString && tok_.kind != Token::kWord) return Fail("expected a value");
    std::string value = tok_.text;
    bool quoted = tok_.kind == Token::kString;
    Next();
    return Parsed{[field, value, fuzzy, quoted](const json& j) {
                    std::string v = FieldText(j, field);
                    return (fuzzy || quoted) && !ExactOnly(field) ? Contains(v, value) : v == value;
                  },
                  {},
                  {},
                  false};
  }

  // After `field =`, at '(' or '['.
  Result<Parsed> ParseRange(const std::string& field) {
    const bool lo_open = tok_.text == "(";
    Next();
    std::string lo = tok_.kind == Token::kSym ? "" : tok_.text;
    if (tok_.kind != Token::kSym) Next();
    if (!AtSym(",")) return Fail("expected ',' in range");
    Next();
    std::string hi = tok_.kind == Token::kSym ? "" : tok_.text;
    if (tok_.kind != Token::kSym) Next();
    if (!(AtSym(")") || AtSym("]"))) return Fail("expected ')' or ']' closing the range");
    const bool hi_open = tok_.text == ")";
    Next();
    if (field == "Duration") {
      auto l = lo.empty() ? std::nullopt : str::ParseDouble(lo);
      auto h = hi.empty() ? std::nullopt : str::ParseDouble(hi);
      if ((!lo.empty() && !l) || (!hi.empty() && !h)) return Fail("bad range value");
      return Parsed{[l, h, lo_open, hi_open](const json& j) {
                      double v = FieldNumber(j, "Duration");
                      if (l && (lo_open ? v <= *l : v < *l)) return false;
                      if (h && (hi_open ? v >= *h : v > *h)) return false;
                      return true;
                    },
                    {},
                    {},
                    false};
    }
    // CreationTime / ModificationTime: ISO 8601 or epoch milliseconds.
    auto ms = [](const std::string& s) -> std::optional<int64_t> {
      if (auto t = timefmt::ParseIso8601(s)) return *t * 1000;
      return str::ParseInt64(s);
    };
    TimeBound b;
    b.lo_open = lo_open;
    b.hi_open = hi_open;
    if (!lo.empty()) b.lo_ms = ms(lo);
    if (!hi.empty()) b.hi_ms = ms(hi);
    if ((!lo.empty() && !b.lo_ms) || (!hi.empty() && !b.hi_ms)) return Fail("bad range value");
    const TimeRange r = b.Seconds();
    Parsed p{[field, r](const json& j) {
               return r.Contains(static_cast<int64_t>(FieldNumber(j, field)));
             },
             {},
             {},
             true};
    (field == "CreationTime" ? p.creation : p.modification) = b;
    return p;
  }

  static bool ExactOnly(const std::string& f) {
    return f == "VideoId" || f == "MediaId" || f == "AudioId" || f == "ImageId" || f == "CateId" ||
           f == "Status" || f == "StorageLocation" || f == "MediaType" || f == "AppId";
  }
  static bool Contains(const std::string& hay, const std::string& needle) {
    return str::ToLower(hay).find(str::ToLower(needle)) != std::string::npos;
  }
  static std::string FieldText(const json& j, const std::string& f) {
    if (!j.contains(f)) return "";
    const auto& v = j[f];
    if (v.is_string()) return v.get<std::string>();
    if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
    return v.dump();
  }
  static double FieldNumber(const json& j, const std::string& f) {
    if (!j.contains(f)) return 0;
    const auto& v = j[f];
    if (v.is_number()) return v.get<double>();
    if (v.is_string()) {
      if (auto t = timefmt::ParseIso8601(v.get<std::string>())) return static_cast<double>(*t);
    }
    return 0;
  }

  std::string_view s_;
  size_t pos_ = 0;
  Token tok_{Token::kEnd, ""};
  bool bad_quote_ = false;
};

}  // namespace

TimeRange TimeBound::Seconds() const {
  TimeRange r;
  // A record time t (seconds) is in the bound when t*1000 compares right
  // with the end: t >= ceil(lo/1000) for '[', t >= floor(lo/1000) + 1 for
  // '(', and the mirror images for the upper end.
  if (lo_ms) r.min = lo_open ? FloorDiv(*lo_ms, 1000) + 1 : CeilDiv(*lo_ms, 1000);
  if (hi_ms) r.max = hi_open ? CeilDiv(*hi_ms, 1000) - 1 : FloorDiv(*hi_ms, 1000);
  return r;
}

void TimeBound::Intersect(const TimeBound& o) {
  if (o.lo_ms && (!lo_ms || *o.lo_ms > *lo_ms || (*o.lo_ms == *lo_ms && o.lo_open))) {
    lo_ms = o.lo_ms;
    lo_open = o.lo_open;
  }
  if (o.hi_ms && (!hi_ms || *o.hi_ms < *hi_ms || (*o.hi_ms == *hi_ms && o.hi_open))) {
    hi_ms = o.hi_ms;
    hi_open = o.hi_open;
  }
}

Result<MatchQuery> ParseMatch(std::string_view match) {
  MatchParser parser(match);
  VODFS_ASSIGN_OR_RETURN(Parsed p, parser.Parse());
  MatchQuery q;
  q.predicate = std::move(p.pred);
  q.creation = p.creation;
  q.modification = p.modification;
  q.exact = p.exact;
  return q;
}

}  // namespace vodfs::emu
