// Optimizers of the lightsr libtorch addon: libtorch's own Adam / AdamW, with a flat state dict
// (`param.<i>.step|exp_avg|exp_avg_sq`) for exact resume.
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>

#include <map>
#include <memory>

#include "common.h"

namespace lsr {
namespace {

using torch::optim::Adam;
using torch::optim::AdamOptions;
using torch::optim::AdamParamState;
using torch::optim::AdamW;
using torch::optim::AdamWOptions;
using torch::optim::AdamWParamState;

struct OptBox {
  std::unique_ptr<torch::optim::Optimizer> opt;
  std::vector<at::Tensor> params;
  bool decoupled = false;
};

OptBox* obox(const Napi::Value& v) {
  if (!v.IsExternal()) throw Napi::TypeError::New(v.Env(), "lightsr torch: expected an optimizer");
  OptBox* b = v.As<Napi::External<OptBox>>().Data();
  if (!b->opt) throw Napi::Error::New(v.Env(), "lightsr torch: optimizer used after it was disposed");
  return b;
}

std::string keyOf(const at::Tensor& p) { return c10::guts::to_string(p.unsafeGetTensorImpl()); }

// (params[], lr, beta1, beta2, eps, weightDecay, decoupled)
Napi::Value adam(const Napi::CallbackInfo& info) {
  auto* b = new OptBox();
  b->params = tensors(info[0]);
  double lr = D(info[1]), b1 = D(info[2]), b2 = D(info[3]), eps = D(info[4]), wd = D(info[5]);
  b->decoupled = B(info[6]);
  if (b->decoupled)
    b->opt = std::make_unique<AdamW>(b->params, AdamWOptions(lr).betas({b1, b2}).eps(eps).weight_decay(wd));
  else
    b->opt = std::make_unique<Adam>(b->params, AdamOptions(lr).betas({b1, b2}).eps(eps).weight_decay(wd));
  return Napi::External<OptBox>::New(info.Env(), b, [](Napi::Env, OptBox* b) { delete b; });
}

Napi::Value optStep(const Napi::CallbackInfo& info) {
  obox(info[0])->opt->step();
  return info.Env().Undefined();
}

Napi::Value optZeroGrad(const Napi::CallbackInfo& info) {
  for (auto& p : obox(info[0])->params)
    if (p.grad().defined()) p.mutable_grad().reset();
  return info.Env().Undefined();
}

Napi::Value optSetLr(const Napi::CallbackInfo& info) {
  OptBox* b = obox(info[0]);
  double lr = D(info[1]);
  for (auto& g : b->opt->param_groups()) {
    if (b->decoupled) static_cast<AdamWOptions&>(g.options()).lr(lr);
    else static_cast<AdamOptions&>(g.options()).lr(lr);
  }
  return info.Env().Undefined();
}

Napi::Value optGetLr(const Napi::CallbackInfo& info) {
  OptBox* b = obox(info[0]);
  auto& g = b->opt->param_groups().at(0);
  double lr = b->decoupled ? static_cast<AdamWOptions&>(g.options()).lr() : static_cast<AdamOptions&>(g.options()).lr();
  return Napi::Number::New(info.Env(), lr);
}

template <class S>
void exportState(OptBox* b, std::vector<std::string>& names, std::vector<at::Tensor>& ts) {
  auto& st = b->opt->state();
  for (size_t i = 0; i < b->params.size(); ++i) {
    auto it = st.find(keyOf(b->params[i]));
    if (it == st.end()) continue;
    auto& s = static_cast<S&>(*it->second);
    std::string pre = "param." + std::to_string(i) + ".";
    names.push_back(pre + "step");
    ts.push_back(at::scalar_tensor(static_cast<double>(s.step()), at::kFloat));
    names.push_back(pre + "exp_avg");
    ts.push_back(s.exp_avg().clone());
    names.push_back(pre + "exp_avg_sq");
    ts.push_back(s.exp_avg_sq().clone());
  }
}

// -> [names[], tensors[]] (copies)
Napi::Value optState(const Napi::CallbackInfo& info) {
  OptBox* b = obox(info[0]);
  at::NoGradGuard ng;
  std::vector<std::string> names;
  std::vector<at::Tensor> ts;
  if (b->decoupled) exportState<AdamWParamState>(b, names, ts);
  else exportState<AdamParamState>(b, names, ts);
  auto n = Napi::Array::New(info.Env(), names.size());
  for (uint32_t i = 0; i < names.size(); ++i) n.Set(i, names[i]);
  auto r = Napi::Array::New(info.Env(), 2);
  r.Set(0u, n);
  r.Set(1u, wrapAll(info.Env(), ts));
  return r;
}

template <class S>
void importState(OptBox* b, std::map<std::string, at::Tensor>& m, Napi::Env env) {
  auto& st = b->opt->state();
  for (size_t i = 0; i < b->params.size(); ++i) {
    const at::Tensor& p = b->params[i];
    std::string pre = "param." + std::to_string(i) + ".";
    auto s = m.find(pre + "step"), a = m.find(pre + "exp_avg"), q = m.find(pre + "exp_avg_sq");
    int found = (s != m.end()) + (a != m.end()) + (q != m.end());
    if (found == 0) {
      st.erase(keyOf(p));
      continue;
    }
    if (found != 3)
      throw Napi::Error::New(env, "optimizer state for " + pre + "* is incomplete (need step, exp_avg, exp_avg_sq)");
    if (!a->second.sizes().equals(p.sizes()) || !q->second.sizes().equals(p.sizes()))
      throw Napi::Error::New(env, "optimizer state for " + pre + "* does not match the parameter's shape");
    auto ps = std::make_unique<S>();
    ps->step(static_cast<int64_t>(std::llround(s->second.item<double>())));
    ps->exp_avg(a->second.to(p.options()).clone());
    ps->exp_avg_sq(q->second.to(p.options()).clone());
    st[keyOf(p)] = std::move(ps);
    m.erase(s);
    m.erase(a);
    m.erase(q);
  }
  if (!m.empty()) throw Napi::Error::New(env, "unexpected optimizer state entry: " + m.begin()->first);
}

// (opt, names[], tensors[])
Napi::Value optLoad(const Napi::CallbackInfo& info) {
  OptBox* b = obox(info[0]);
  at::NoGradGuard ng;
  auto names = info[1].As<Napi::Array>();
  auto ts = tensors(info[2]);
  std::map<std::string, at::Tensor> m;
  for (uint32_t i = 0; i < names.Length(); ++i) m[names.Get(i).As<Napi::String>().Utf8Value()] = ts.at(i);
  if (b->decoupled) importState<AdamWParamState>(b, m, info.Env());
  else importState<AdamParamState>(b, m, info.Env());
  return info.Env().Undefined();
}

Napi::Value optDispose(const Napi::CallbackInfo& info) {
  if (!info[0].IsExternal()) throw Napi::TypeError::New(info.Env(), "lightsr torch: expected an optimizer");
  OptBox* b = info[0].As<Napi::External<OptBox>>().Data();
  b->opt.reset();
  b->params.clear();
  return info.Env().Undefined();
}

}  // namespace

void initOptim(Napi::Env env, Napi::Object exports) {
  LSR_DEF(exports, adam);
  LSR_DEF(exports, optStep);
  LSR_DEF(exports, optZeroGrad);
  LSR_DEF(exports, optSetLr);
  LSR_DEF(exports, optGetLr);
  LSR_DEF(exports, optState);
  LSR_DEF(exports, optLoad);
  LSR_DEF(exports, optDispose);
}

}  // namespace lsr
