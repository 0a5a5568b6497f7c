// Shared helpers of the lightsr libtorch addon: tensor handles, argument parsing, error mapping.
#pragma once
#include <ATen/ATen.h>
#include <napi.h>

#include <cstdint>
#include <vector>

namespace lsr {

// A JS tensor handle is an External holding a TBox. dispose() resets `t` (memory is freed at once);
// the box itself goes with the External when the JS object is garbage-collected.
struct TBox {
  at::Tensor t;
  int64_t reported = 0;  // bytes reported to V8 as external memory
};

extern int64_t g_live;  // live (not disposed, not collected) tensors

// Large tensors are reported to V8 so that garbage collection (the safety net for tensors that
// were never disposed) sees their weight.
constexpr int64_t kReportBytes = 1 << 20;

inline void release(Napi::Env env, TBox* b) {
  if (!b->t.defined()) return;
  b->t.reset();
  --g_live;
  if (b->reported) {
    Napi::MemoryManagement::AdjustExternalMemory(env, -b->reported);
    b->reported = 0;
  }
}

inline Napi::Value wrap(Napi::Env env, at::Tensor t) {
  auto* b = new TBox{std::move(t)};
  ++g_live;
  int64_t bytes = static_cast<int64_t>(b->t.nbytes());
  if (bytes >= kReportBytes) {
    b->reported = bytes;
    Napi::MemoryManagement::AdjustExternalMemory(env, bytes);
  }
  return Napi::External<TBox>::New(env, b, [](Napi::Env env, TBox* b) {
    release(env, b);
    delete b;
  });
}

inline TBox* box(const Napi::Value& v) {
  if (!v.IsExternal()) throw Napi::TypeError::New(v.Env(), "lightsr torch: expected a tensor");
  return v.As<Napi::External<TBox>>().Data();
}

inline const at::Tensor& T(const Napi::Value& v) {
  TBox* b = box(v);
  if (!b->t.defined()) throw Napi::Error::New(v.Env(), "lightsr torch: tensor used after it was disposed");
  return b->t;
}

inline c10::optional<at::Tensor> optT(const Napi::Value& v) {
  if (v.IsNull() || v.IsUndefined()) return c10::nullopt;
  return T(v);
}

inline int64_t I(const Napi::Value& v) { return v.As<Napi::Number>().Int64Value(); }
inline double D(const Napi::Value& v) { return v.As<Napi::Number>().DoubleValue(); }
inline bool B(const Napi::Value& v) { return v.ToBoolean().Value(); }

inline std::vector<int64_t> ints(const Napi::Value& v) {
  auto a = v.As<Napi::Array>();
  uint32_t n = a.Length();
  std::vector<int64_t> r(n);
  for (uint32_t i = 0; i < n; ++i) r[i] = a.Get(i).As<Napi::Number>().Int64Value();
  return r;
}

inline std::vector<at::Tensor> tensors(const Napi::Value& v) {
  auto a = v.As<Napi::Array>();
  uint32_t n = a.Length();
  std::vector<at::Tensor> r;
  r.reserve(n);
  for (uint32_t i = 0; i < n; ++i) r.push_back(T(a.Get(i)));
  return r;
}

inline Napi::Array wrapAll(Napi::Env env, const std::vector<at::Tensor>& ts) {
  auto a = Napi::Array::New(env, ts.size());
  for (uint32_t i = 0; i < ts.size(); ++i) a.Set(i, wrap(env, ts[i]));
  return a;
}

// Turns libtorch (c10::Error) and other C++ exceptions into JS errors.
template <Napi::Value (*F)(const Napi::CallbackInfo&)>
Napi::Value guarded(const Napi::CallbackInfo& info) {
  try {
    return F(info);
  } catch (const Napi::Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw Napi::Error::New(info.Env(), std::string("libtorch: ") + e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), std::string("libtorch: ") + e.what());
  }
}

#define LSR_DEF(exports, name) (exports).Set(#name, Napi::Function::New<::lsr::guarded<name>>((exports).Env(), #name))

void initOps(Napi::Env env, Napi::Object exports);
void initOptim(Napi::Env env, Napi::Object exports);

}  // namespace lsr
