#include "grpc/grpc_client.h"

#include <grpcpp/grpcpp.h>
#include <proto/grpc_service.grpc.pb.h>

#include <atomic>

#include "common/strings.h"

namespace infera {

struct GrpcInferClient::Impl {
  std::unique_ptr<inference::GRPCInferenceService::Stub> stub;
  std::chrono::milliseconds timeout;
  inference::ModelInferRequest request;  // reused: only the image changes
};

GrpcInferClient::GrpcInferClient(const std::string& host, uint16_t port,
                                 std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
  // A channel argument unique to this client keeps gRPC from sharing one connection
  // between the channels of one process.
  static std::atomic<int> next{0};
  grpc::ChannelArguments args;
  args.SetInt("infera.client", next.fetch_add(1));
  args.SetMaxReceiveMessageSize(-1);
  impl_->stub = inference::GRPCInferenceService::NewStub(
      grpc::CreateCustomChannel(StrCat(host, ":", port), grpc::InsecureChannelCredentials(), args));
  impl_->timeout = timeout;
}

GrpcInferClient::~GrpcInferClient() = default;

StatusOr<std::string> GrpcInferClient::InferImage(const std::string& model,
                                                  const std::string& input,
                                                  std::string_view image) {
  inference::ModelInferRequest& req = impl_->request;
  if (req.inputs_size() == 0) {
    auto* in = req.add_inputs();
    in->set_datatype("BYTES");
    in->add_shape(1);
    in->mutable_contents()->add_bytes_contents();
  }
  req.set_model_name(model);
  req.mutable_inputs(0)->set_name(input);
  req.mutable_inputs(0)->mutable_contents()->mutable_bytes_contents(0)->assign(image.data(),
                                                                               image.size());
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + impl_->timeout);
  inference::ModelInferResponse res;
  grpc::Status s = impl_->stub->ModelInfer(&ctx, req, &res);
  if (!s.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(static_cast<int>(s.error_code())),
                        s.error_message());
  }
  if (res.raw_output_contents_size() == 0) return std::string();
  return std::move(*res.mutable_raw_output_contents(0));
}

}  // namespace infera
