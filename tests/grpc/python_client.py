#!/usr/bin/python3
"""A Python client of infera's gRPC API, generated at test time from proto/grpc_service.proto
with grpc_tools (Debian's python3-grpc-tools), as a third-party client would be.

Run by the integration test GrpcPythonClientTest (tests/integration/grpc_python_test.cc)
against a server it started:

  python_client.py --grpc-port P --http-port Q --proto proto/grpc_service.proto
                   --models build/test-models --out DIR

Exits 0 after printing "python grpc client: ok"; any failed check raises (exit 1), and a
missing grpcio / grpc_tools fails too (never skipped).
"""
import argparse
import json
import struct
import subprocess
import sys
import urllib.request


def generate(proto, out):
    import os
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I", os.path.dirname(proto),
                    "--python_out", out, "--grpc_python_out", out, proto], check=True)
    sys.path.insert(0, out)


def http_binary_infer(http_port, image):
    """HTTP /v2 infer of one encoded image (BYTES, binary data extension): raw output bytes."""
    element = struct.pack("<I", len(image)) + image
    header = json.dumps({
        "inputs": [{"name": "input", "shape": [1], "datatype": "BYTES",
                    "parameters": {"binary_data_size": len(element)}}],
        "parameters": {"binary_data_output": True}}).encode()
    req = urllib.request.Request(
        f"http://127.0.0.1:{http_port}/v2/models/tiny_cls/infer", data=header + element,
        headers={"Inference-Header-Content-Length": str(len(header))}, method="POST")
    with urllib.request.urlopen(req, timeout=30) as r:
        body = r.read()
        length = int(r.headers["Inference-Header-Content-Length"])
    return body[length:]


def expect_code(call, code, text):
    import grpc
    try:
        call()
    except grpc.RpcError as e:
        assert e.code() == code, (e.code(), e.details())
        assert text in e.details(), e.details()
        return
    raise AssertionError(f"expected {code}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--grpc-port", type=int, required=True)
    parser.add_argument("--http-port", type=int, required=True)
    parser.add_argument("--proto", required=True)
    parser.add_argument("--models", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    generate(args.proto, args.out)
    import grpc
    import grpc_service_pb2 as pb
    import grpc_service_pb2_grpc as pb_grpc

    stub = pb_grpc.GRPCInferenceServiceStub(grpc.insecure_channel(f"127.0.0.1:{args.grpc_port}"))
    t = 30  # every call bounded in time

    assert stub.ServerLive(pb.ServerLiveRequest(), timeout=t).live
    assert stub.ServerReady(pb.ServerReadyRequest(), timeout=t).ready
    meta = stub.ServerMetadata(pb.ServerMetadataRequest(), timeout=t)
    assert meta.name == "infera" and "classification" in meta.extensions, meta
    assert stub.ModelReady(pb.ModelReadyRequest(name="tiny_cls"), timeout=t).ready
    model = stub.ModelMetadata(pb.ModelMetadataRequest(name="tiny_cls"), timeout=t)
    assert model.inputs[0].name == "input" and model.inputs[0].datatype == "FP32", model
    assert list(model.inputs[0].shape)[1:] == [3, 64, 64], model
    config = stub.ModelConfig(pb.ModelConfigRequest(name="tiny_cls"), timeout=t).config
    assert config.name == "tiny_cls" and config.input[0].data_type == pb.TYPE_FP32, config
    index = stub.RepositoryIndex(pb.RepositoryIndexRequest(ready=True), timeout=t)
    assert "tiny_cls" in [m.name for m in index.models], index

    # ModelInfer: an encoded image, typed (bytes_contents) and raw; HTTP's bytes for it.
    with open(f"{args.models}/images/disk.png", "rb") as f:
        disk = f.read()
    with open(f"{args.models}/expected.json") as f:
        cases = json.load(f)["cases"]
    logits = next(c["logits"] for c in cases
                  if c["model"] == "tiny_cls" and c["image"] == "images/disk.png")
    http = http_binary_infer(args.http_port, disk)
    inp = pb.ModelInferRequest.InferInputTensor(name="input", datatype="BYTES", shape=[1])
    inp.contents.bytes_contents.append(disk)
    typed = stub.ModelInfer(pb.ModelInferRequest(model_name="tiny_cls", id="py", inputs=[inp]),
                            timeout=t)
    assert typed.id == "py" and typed.model_version == "1", typed
    assert typed.outputs[0].datatype == "FP32" and list(typed.outputs[0].shape) == [1, 3]
    assert typed.raw_output_contents[0] == http, "gRPC and HTTP differ"
    got = struct.unpack("<3f", typed.raw_output_contents[0])
    assert all(abs(a - b) < 1e-4 for a, b in zip(got, logits)), (got, logits)
    raw_inp = pb.ModelInferRequest.InferInputTensor(name="input", datatype="BYTES", shape=[1])
    raw = stub.ModelInfer(pb.ModelInferRequest(
        model_name="tiny_cls", inputs=[raw_inp],
        raw_input_contents=[struct.pack("<I", len(disk)) + disk],
        parameters={"binary_data_output": pb.InferParameter(bool_param=False)}), timeout=t)
    assert tuple(raw.outputs[0].contents.fp32_contents) == got, raw

    stats = stub.ModelStatistics(pb.ModelStatisticsRequest(name="tiny_cls"), timeout=t)
    assert stats.model_stats[0].inference_count >= 2, stats

    # Errors: codes and messages.
    expect_code(lambda: stub.ModelInfer(pb.ModelInferRequest(model_name="nope", inputs=[inp]),
                                        timeout=t),
                grpc.StatusCode.NOT_FOUND, "unknown model 'nope'")
    bad = pb.ModelInferRequest.InferInputTensor(name="input", datatype="FP32", shape=[1, 3, 64, 64])
    bad.contents.fp32_contents.extend([0.0] * 5)
    expect_code(lambda: stub.ModelInfer(pb.ModelInferRequest(model_name="tiny_cls", inputs=[bad]),
                                        timeout=t),
                grpc.StatusCode.INVALID_ARGUMENT, "got 5")
    # Model control mode none: the repository is not changed through the API.
    expect_code(lambda: stub.RepositoryModelUnload(
        pb.RepositoryModelUnloadRequest(model_name="tiny_cls"), timeout=t),
        grpc.StatusCode.FAILED_PRECONDITION, "")
    print("python grpc client: ok")


if __name__ == "__main__":
    main()
