#include "tracing/span.h"

#include <algorithm>
#include <utility>

#include "tracing/span_queue.h"

namespace infera {

int64_t NowUnixNano() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t UnixNanoFromSteady(std::chrono::steady_clock::time_point t) {
  const auto ago = std::chrono::steady_clock::now() - t;
  return NowUnixNano() - std::chrono::duration_cast<std::chrono::nanoseconds>(ago).count();
}

TraceSpan::TraceSpan(SpanContext context, SpanId parent, std::string name, SpanKind kind,
                     std::shared_ptr<SpanQueue> queue, int64_t start_unix_nano)
    : context_(std::move(context)), queue_(std::move(queue)) {
  if (queue_ == nullptr) return;
  MutexLock lock(&mu_);
  data_.context = context_;
  data_.parent_span_id = parent;
  data_.name = std::move(name);
  data_.kind = kind;
  data_.start_unix_nano = start_unix_nano;
}

TraceSpan::~TraceSpan() {
  if (queue_ == nullptr) return;
  bool ended = false;
  {
    MutexLock lock(&mu_);
    ended = ended_;
  }
  if (!ended) End();
}

void TraceSpan::SetName(std::string name) {
  if (queue_ == nullptr) return;
  MutexLock lock(&mu_);
  if (!ended_) data_.name = std::move(name);
}

void TraceSpan::SetAttribute(std::string key, AttributeValue value) {
  if (queue_ == nullptr) return;
  MutexLock lock(&mu_);
  if (ended_) return;
  for (SpanAttribute& a : data_.attributes) {
    if (a.key == key) {
      a.value = std::move(value);
      return;
    }
  }
  data_.attributes.push_back(SpanAttribute{std::move(key), std::move(value)});
}

void TraceSpan::AddEvent(std::string name, std::vector<SpanAttribute> attributes) {
  if (queue_ == nullptr) return;
  const int64_t now = NowUnixNano();
  MutexLock lock(&mu_);
  if (ended_) return;
  data_.events.push_back(SpanEvent{std::move(name), now, std::move(attributes)});
}

void TraceSpan::AddLink(const SpanContext& context, std::vector<SpanAttribute> attributes) {
  if (queue_ == nullptr) return;
  MutexLock lock(&mu_);
  if (ended_) return;
  data_.links.push_back(SpanLink{context, std::move(attributes)});
}

void TraceSpan::SetStatus(SpanStatusCode code, std::string message) {
  if (queue_ == nullptr) return;
  MutexLock lock(&mu_);
  if (ended_) return;
  data_.status = code;
  // The spec keeps a message for errors only.
  data_.status_message = code == SpanStatusCode::kError ? std::move(message) : std::string();
}

void TraceSpan::EndAt(int64_t end_unix_nano) {
  if (queue_ == nullptr) return;
  SpanData data;
  {
    MutexLock lock(&mu_);
    if (ended_) return;
    ended_ = true;
    data_.end_unix_nano = std::max(end_unix_nano, data_.start_unix_nano);
    data = std::move(data_);
  }
  queue_->Push(std::move(data));
}

void EndSpan(TraceSpan* span, const Status& status) {
  if (span == nullptr) return;
  if (!status.ok()) {
    span->SetAttribute("error.type", std::string(absl::StatusCodeToString(status.code())));
    span->SetStatus(SpanStatusCode::kError, std::string(status.message()));
  }
  span->End();
}

std::shared_ptr<TraceSpan> StartChildSpan(const TraceSpan* parent, std::string name,
                                          std::optional<int64_t> start_unix_nano, SpanKind kind) {
  if (parent == nullptr || !parent->recording()) return nullptr;
  SpanContext context;
  context.trace_id = parent->context().trace_id;
  context.span_id = NewSpanId();
  context.flags = parent->context().flags;
  context.tracestate = parent->context().tracestate;
  return std::make_shared<TraceSpan>(std::move(context), parent->context().span_id, std::move(name),
                                     kind, parent->queue(),
                                     start_unix_nano.value_or(NowUnixNano()));
}

std::shared_ptr<TraceSpan> StartLinkedSpan(const std::vector<const TraceSpan*>& served,
                                           std::string name, std::optional<int64_t> start_unix_nano,
                                           SpanKind kind) {
  std::shared_ptr<SpanQueue> queue;
  for (const TraceSpan* s : served) {
    if (s != nullptr && s->recording()) {
      queue = s->queue();
      break;
    }
  }
  if (queue == nullptr) return nullptr;
  SpanContext context;
  context.trace_id = NewTraceId();
  context.span_id = NewSpanId();
  context.flags = kTraceFlagSampled;
  auto span =
      std::make_shared<TraceSpan>(std::move(context), SpanId{}, std::move(name), kind,
                                  std::move(queue), start_unix_nano.value_or(NowUnixNano()));
  for (const TraceSpan* s : served) {
    if (s != nullptr) span->AddLink(s->context());
  }
  return span;
}

}  // namespace infera
