#include "tracing/trace_context.h"

#include <algorithm>
#include <random>

namespace infera {
namespace {

constexpr char kHex[] = "0123456789abcdef";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // upper case is invalid in traceparent
}

// Parses exactly 2*N lower-case hex digits into `out`.
template <size_t N>
bool ParseHex(std::string_view text, std::array<uint8_t, N>* out) {
  if (text.size() != 2 * N) return false;
  for (size_t i = 0; i < N; ++i) {
    const int hi = HexValue(text[2 * i]);
    const int lo = HexValue(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    (*out)[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return true;
}

template <size_t N>
std::string Hex(const std::array<uint8_t, N>& id) {
  std::string s(2 * N, '0');
  for (size_t i = 0; i < N; ++i) {
    s[2 * i] = kHex[id[i] >> 4];
    s[2 * i + 1] = kHex[id[i] & 15];
  }
  return s;
}

std::mt19937_64& Generator() {
  thread_local std::mt19937_64 generator = [] {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device(), device(), device()};
    return std::mt19937_64(seed);
  }();
  return generator;
}

template <size_t N>
void Fill(std::array<uint8_t, N>* id) {
  do {
    for (size_t i = 0; i < N; i += 8) {
      uint64_t v = Generator()();
      for (size_t j = 0; j < 8 && i + j < N; ++j, v >>= 8) (*id)[i + j] = static_cast<uint8_t>(v);
    }
  } while (std::all_of(id->begin(), id->end(), [](uint8_t b) { return b == 0; }));
}

bool IsLcAlpha(char c) { return c >= 'a' && c <= 'z'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// key = simple-key / multi-tenant-key
//   simple-key = lcalpha 0*255( lcalpha / DIGIT / "_" / "-"/ "*" / "/" )
//   multi-tenant-key = tenant-id "@" system-id
//   tenant-id = ( lcalpha / DIGIT ) 0*240( lcalpha / DIGIT / "_" / "-"/ "*" / "/" )
//   system-id = lcalpha 0*13( lcalpha / DIGIT / "_" / "-"/ "*" / "/" )
bool IsKeyChar(char c) {
  return IsLcAlpha(c) || IsDigit(c) || c == '_' || c == '-' || c == '*' || c == '/';
}

bool IsValidKey(std::string_view key) {
  const size_t at = key.find('@');
  if (at == std::string_view::npos) {
    if (key.empty() || key.size() > 256 || !IsLcAlpha(key[0])) return false;
    return std::all_of(key.begin(), key.end(), IsKeyChar);
  }
  const std::string_view tenant = key.substr(0, at);
  const std::string_view system = key.substr(at + 1);
  if (tenant.empty() || tenant.size() > 241 || system.empty() || system.size() > 14) return false;
  if (!IsLcAlpha(tenant[0]) && !IsDigit(tenant[0])) return false;
  if (!IsLcAlpha(system[0])) return false;
  return std::all_of(tenant.begin(), tenant.end(), IsKeyChar) &&
         std::all_of(system.begin(), system.end(), IsKeyChar);
}

// value = 0*255(chr) nblk-chr; nblk-chr = %x21-2B / %x2D-3C / %x3E-7E; chr = %x20 / nblk-chr
bool IsValidValue(std::string_view value) {
  if (value.empty() || value.size() > 256 || value.back() == ' ') return false;
  return std::all_of(value.begin(), value.end(),
                     [](char c) { return c >= 0x20 && c <= 0x7e && c != ',' && c != '='; });
}

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

bool SpanContext::valid() const { return !IsZero(trace_id) && !IsZero(span_id); }

bool IsZero(const TraceId& id) {
  return std::all_of(id.begin(), id.end(), [](uint8_t b) { return b == 0; });
}
bool IsZero(const SpanId& id) {
  return std::all_of(id.begin(), id.end(), [](uint8_t b) { return b == 0; });
}

std::string ToHex(const TraceId& id) { return Hex(id); }
std::string ToHex(const SpanId& id) { return Hex(id); }

TraceId NewTraceId() {
  TraceId id;
  Fill(&id);
  return id;
}

SpanId NewSpanId() {
  SpanId id;
  Fill(&id);
  return id;
}

std::optional<SpanContext> ParseTraceparent(std::string_view traceparent,
                                            std::string_view tracestate) {
  // version "-" trace-id "-" parent-id "-" trace-flags
  constexpr size_t kLength = 2 + 1 + 32 + 1 + 16 + 1 + 2;  // 55
  if (traceparent.size() < kLength) return std::nullopt;
  const std::string_view version = traceparent.substr(0, 2);
  std::array<uint8_t, 1> version_byte{};
  if (!ParseHex(version, &version_byte) || version_byte[0] == 0xff) return std::nullopt;
  if (version_byte[0] == 0x00) {
    if (traceparent.size() != kLength) return std::nullopt;
  } else if (traceparent.size() > kLength && traceparent[kLength] != '-') {
    return std::nullopt;  // a future version's extra fields follow a '-'
  }
  if (traceparent[2] != '-' || traceparent[35] != '-' || traceparent[52] != '-') {
    return std::nullopt;
  }
  SpanContext context;
  std::array<uint8_t, 1> flags{};
  if (!ParseHex(traceparent.substr(3, 32), &context.trace_id) ||
      !ParseHex(traceparent.substr(36, 16), &context.span_id) ||
      !ParseHex(traceparent.substr(53, 2), &flags)) {
    return std::nullopt;
  }
  if (!context.valid()) return std::nullopt;
  // Version 00 defines only the sampled bit; other bits are passed on as received
  // for 00 and cleared for later versions (whose bits we do not know).
  context.flags = version_byte[0] == 0x00 ? flags[0] : (flags[0] & kTraceFlagSampled);
  if (IsValidTracestate(tracestate)) context.tracestate = std::string(TrimOws(tracestate));
  return context;
}

std::string FormatTraceparent(const SpanContext& context) {
  std::string s = "00-";
  s += Hex(context.trace_id);
  s += '-';
  s += Hex(context.span_id);
  s += '-';
  s += kHex[context.flags >> 4];
  s += kHex[context.flags & 15];
  return s;
}

bool IsValidTracestate(std::string_view tracestate) {
  if (TrimOws(tracestate).empty()) return true;
  int members = 0;
  std::string_view rest = tracestate;
  while (true) {
    const size_t comma = rest.find(',');
    const std::string_view member = TrimOws(rest.substr(0, comma));
    if (!member.empty()) {  // empty list members are allowed and ignored
      if (++members > 32) return false;
      const size_t eq = member.find('=');
      if (eq == std::string_view::npos) return false;
      if (!IsValidKey(member.substr(0, eq)) || !IsValidValue(member.substr(eq + 1))) return false;
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return members > 0;
}

}  // namespace infera
