#include "tracing/otlp_json.h"

#include <nlohmann/json.hpp>
#include <string>
#include <type_traits>

namespace infera {
namespace {

nlohmann::json Value(const AttributeValue& value) {
  return std::visit(
      [](const auto& v) -> nlohmann::json {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return {{"stringValue", v}};
        } else if constexpr (std::is_same_v<T, bool>) {
          return {{"boolValue", v}};
        } else if constexpr (std::is_same_v<T, int64_t>) {
          return {{"intValue", std::to_string(v)}};
        } else {
          return {{"doubleValue", v}};
        }
      },
      value);
}

nlohmann::json Attributes(const std::vector<SpanAttribute>& attributes) {
  nlohmann::json out = nlohmann::json::array();
  for (const SpanAttribute& a : attributes) {
    out.push_back({{"key", a.key}, {"value", Value(a.value)}});
  }
  return out;
}

nlohmann::json Span(const SpanData& s) {
  nlohmann::json j = {{"traceId", ToHex(s.context.trace_id)},
                      {"spanId", ToHex(s.context.span_id)},
                      {"name", s.name},
                      {"kind", static_cast<int>(s.kind)},
                      {"startTimeUnixNano", std::to_string(s.start_unix_nano)},
                      {"endTimeUnixNano", std::to_string(s.end_unix_nano)},
                      {"flags", static_cast<int>(s.context.flags)}};
  if (!IsZero(s.parent_span_id)) j["parentSpanId"] = ToHex(s.parent_span_id);
  if (!s.context.tracestate.empty()) j["traceState"] = s.context.tracestate;
  if (!s.attributes.empty()) j["attributes"] = Attributes(s.attributes);
  if (!s.events.empty()) {
    nlohmann::json events = nlohmann::json::array();
    for (const SpanEvent& e : s.events) {
      nlohmann::json event = {{"timeUnixNano", std::to_string(e.time_unix_nano)}, {"name", e.name}};
      if (!e.attributes.empty()) event["attributes"] = Attributes(e.attributes);
      events.push_back(std::move(event));
    }
    j["events"] = std::move(events);
  }
  if (!s.links.empty()) {
    nlohmann::json links = nlohmann::json::array();
    for (const SpanLink& l : s.links) {
      nlohmann::json link = {{"traceId", ToHex(l.context.trace_id)},
                             {"spanId", ToHex(l.context.span_id)},
                             {"flags", static_cast<int>(l.context.flags)}};
      if (!l.context.tracestate.empty()) link["traceState"] = l.context.tracestate;
      if (!l.attributes.empty()) link["attributes"] = Attributes(l.attributes);
      links.push_back(std::move(link));
    }
    j["links"] = std::move(links);
  }
  if (s.status != SpanStatusCode::kUnset) {
    nlohmann::json status = {{"code", static_cast<int>(s.status)}};
    if (!s.status_message.empty()) status["message"] = s.status_message;
    j["status"] = std::move(status);
  }
  return j;
}

}  // namespace

std::string SpansToOtlpJson(const OtlpResource& resource, const std::vector<SpanData>& spans) {
  std::vector<SpanAttribute> resource_attributes = {{"service.name", resource.service_name},
                                                    {"telemetry.sdk.name", std::string("infera")},
                                                    {"telemetry.sdk.language", std::string("cpp")}};
  if (!resource.service_version.empty()) {
    resource_attributes.push_back({"service.version", resource.service_version});
  }
  nlohmann::json out_spans = nlohmann::json::array();
  for (const SpanData& s : spans) out_spans.push_back(Span(s));
  nlohmann::json scope = {{"name", "infera"}};
  if (!resource.service_version.empty()) scope["version"] = resource.service_version;
  const nlohmann::json request = {
      {"resourceSpans",
       nlohmann::json::array(
           {{{"resource", {{"attributes", Attributes(resource_attributes)}}},
             {"scopeSpans",
              nlohmann::json::array({{{"scope", scope}, {"spans", std::move(out_spans)}}})}}})}};
  // Replace invalid UTF-8 (span names and attributes may come from requests).
  return request.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace infera
