// lightsr libtorch addon: tensor transfer, memory, autograd, threads and random state.
// The compute ops live in ops.cc, the optimizers in optim.cc.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <c10/core/GradMode.h>
#include <torch/version.h>

#include <cstring>
#include <mutex>

#include "common.h"

namespace lsr {

int64_t g_live = 0;

namespace {

int64_t numelOf(const std::vector<int64_t>& shape, Napi::Env env) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) throw Napi::RangeError::New(env, "lightsr torch: negative dimension in shape");
    n *= d;
  }
  return n;
}

// (Float32Array, shape) -> float32 tensor (copy)
Napi::Value fromFloat32(const Napi::CallbackInfo& info) {
  auto arr = info[0].As<Napi::Float32Array>();
  auto shape = ints(info[1]);
  int64_t n = numelOf(shape, info.Env());
  if (static_cast<int64_t>(arr.ElementLength()) != n)
    throw Napi::RangeError::New(info.Env(), "lightsr torch: data length does not match the shape");
  at::Tensor t = at::empty(shape, at::kFloat);
  if (n) std::memcpy(t.data_ptr<float>(), arr.Data(), n * sizeof(float));
  return wrap(info.Env(), std::move(t));
}

// (Int32Array, shape) -> int64 tensor (copy)
Napi::Value fromInt32(const Napi::CallbackInfo& info) {
  auto arr = info[0].As<Napi::Int32Array>();
  auto shape = ints(info[1]);
  int64_t n = numelOf(shape, info.Env());
  if (static_cast<int64_t>(arr.ElementLength()) != n)
    throw Napi::RangeError::New(info.Env(), "lightsr torch: data length does not match the shape");
  at::Tensor t = at::empty(shape, at::kLong);
  int64_t* p = t.data_ptr<int64_t>();
  const int32_t* s = arr.Data();
  for (int64_t i = 0; i < n; ++i) p[i] = s[i];
  return wrap(info.Env(), std::move(t));
}

Napi::Value full(const Napi::CallbackInfo& info) {
  return wrap(info.Env(), at::full(ints(info[0]), D(info[1]), at::kFloat));
}

Napi::Value rand(const Napi::CallbackInfo& info) {
  at::Tensor t = at::empty(ints(info[0]), at::kFloat);
  t.uniform_(D(info[1]), D(info[2]));
  return wrap(info.Env(), std::move(t));
}

Napi::Value randn(const Napi::CallbackInfo& info) {
  return wrap(info.Env(), at::randn(ints(info[0]), at::kFloat));
}

// Contiguous copy of the values: Float32Array for floating tensors, Int32Array for integer ones.
Napi::Value read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const at::Tensor& t = T(info[0]);
  at::NoGradGuard ng;
  int64_t n = t.numel();
  bool isFloat = at::isFloatingType(t.scalar_type());
  auto buf = Napi::ArrayBuffer::New(env, n * 4);
  if (n) at::from_blob(buf.Data(), t.sizes(), isFloat ? at::kFloat : at::kInt).copy_(t);
  if (isFloat) return Napi::Float32Array::New(env, n, buf, 0);
  return Napi::Int32Array::New(env, n, buf, 0);
}

Napi::Value shape(const Napi::CallbackInfo& info) {
  auto s = T(info[0]).sizes();
  auto a = Napi::Array::New(info.Env(), s.size());
  for (uint32_t i = 0; i < s.size(); ++i) a.Set(i, Napi::Number::New(info.Env(), static_cast<double>(s[i])));
  return a;
}

// 0 float32 (any floating type), 1 int32, 2 int64, 3 other
Napi::Value dtype(const Napi::CallbackInfo& info) {
  auto st = T(info[0]).scalar_type();
  int code = at::isFloatingType(st) ? 0 : st == at::kInt ? 1 : st == at::kLong ? 2 : 3;
  return Napi::Number::New(info.Env(), code);
}

Napi::Value dispose(const Napi::CallbackInfo& info) {
  release(info.Env(), box(info[0]));
  return info.Env().Undefined();
}

Napi::Value numTensors(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(g_live));
}

// ---- autograd ----
Napi::Value setRequiresGrad(const Napi::CallbackInfo& info) {
  T(info[0]).set_requires_grad(B(info[1]));
  return info.Env().Undefined();
}

Napi::Value requiresGrad(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), T(info[0]).requires_grad());
}

Napi::Value backward(const Napi::CallbackInfo& info) {
  T(info[0]).backward();
  return info.Env().Undefined();
}

Napi::Value grad(const Napi::CallbackInfo& info) {
  const at::Tensor& g = T(info[0]).grad();
  if (!g.defined()) return info.Env().Null();
  return wrap(info.Env(), g);
}

// Sets the gradients of the given leaves to None (like zero_grad(set_to_none=True)).
Napi::Value zeroGrad(const Napi::CallbackInfo& info) {
  for (auto& t : tensors(info[0]))
    if (t.grad().defined()) t.mutable_grad().reset();
  return info.Env().Undefined();
}

// Returns the previous mode.
Napi::Value setGradEnabled(const Napi::CallbackInfo& info) {
  bool prev = c10::GradMode::is_enabled();
  c10::GradMode::set_enabled(B(info[0]));
  return Napi::Boolean::New(info.Env(), prev);
}

// bfloat16 autocast on the CPU (torch.autocast('cpu')): convolutions and matmuls run in bf16, weights and their
// gradients stay float32. Turning it off drops the cached bf16 copies of the weights (they change every step).
// Returns the previous mode.
Napi::Value setAutocast(const Napi::CallbackInfo& info) {
  bool prev = at::autocast::is_cpu_enabled();
  bool on = B(info[0]);
  at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
  at::autocast::set_cpu_enabled(on);
  if (!on) at::autocast::clear_cache();
  return Napi::Boolean::New(info.Env(), prev);
}

Napi::Value copyInto(const Napi::CallbackInfo& info) {
  at::NoGradGuard ng;
  T(info[0]).copy_(T(info[1]));
  return info.Env().Undefined();
}

// ---- threads, random state ----
Napi::Value setThreads(const Napi::CallbackInfo& info) {
  int64_t n = I(info[0]);
  if (n < 1) throw Napi::RangeError::New(info.Env(), "lightsr torch: thread count must be >= 1");
  at::set_num_threads(static_cast<int>(n));
  return info.Env().Undefined();
}

Napi::Value getThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), at::get_num_threads());
}

Napi::Value seed(const Napi::CallbackInfo& info) {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_current_seed(static_cast<uint64_t>(I(info[0])));
  return info.Env().Undefined();
}

Napi::Value getRngState(const Napi::CallbackInfo& info) {
  auto gen = at::detail::getDefaultCPUGenerator();
  at::Tensor st;
  {
    std::lock_guard<std::mutex> lock(gen.mutex());
    st = gen.get_state().contiguous();
  }
  auto out = Napi::Uint8Array::New(info.Env(), st.numel());
  std::memcpy(out.Data(), st.data_ptr<uint8_t>(), st.numel());
  return out;
}

Napi::Value setRngState(const Napi::CallbackInfo& info) {
  auto arr = info[0].As<Napi::Uint8Array>();
  at::Tensor st = at::empty({static_cast<int64_t>(arr.ElementLength())}, at::kByte);
  std::memcpy(st.data_ptr<uint8_t>(), arr.Data(), arr.ElementLength());
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(st);
  return info.Env().Undefined();
}

Napi::Value version(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), TORCH_VERSION);
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  LSR_DEF(exports, fromFloat32);
  LSR_DEF(exports, fromInt32);
  LSR_DEF(exports, full);
  LSR_DEF(exports, rand);
  LSR_DEF(exports, randn);
  LSR_DEF(exports, read);
  LSR_DEF(exports, shape);
  LSR_DEF(exports, dtype);
  LSR_DEF(exports, dispose);
  LSR_DEF(exports, numTensors);
  LSR_DEF(exports, setRequiresGrad);
  LSR_DEF(exports, requiresGrad);
  LSR_DEF(exports, backward);
  LSR_DEF(exports, grad);
  LSR_DEF(exports, zeroGrad);
  LSR_DEF(exports, setGradEnabled);
  LSR_DEF(exports, setAutocast);
  LSR_DEF(exports, copyInto);
  LSR_DEF(exports, setThreads);
  LSR_DEF(exports, getThreads);
  LSR_DEF(exports, seed);
  LSR_DEF(exports, getRngState);
  LSR_DEF(exports, setRngState);
  LSR_DEF(exports, version);
  initOps(env, exports);
  initOptim(env, exports);
  return exports;
}

}  // namespace lsr

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return lsr::Init(env, exports); }

NODE_API_MODULE(lightsr_torch, InitAddon)
