// Compute ops of the lightsr libtorch addon: thin calls into ATen (PyTorch semantics).
#include "common.h"

namespace lsr {
namespace {

using Info = Napi::CallbackInfo;
#define RET(expr) return wrap(info.Env(), (expr))

// ---- convolution / linear ----
// (x, w, b|null, sh, sw, ph, pw, dh, dw, groups)
Napi::Value conv2d(const Info& info) {
  RET(at::conv2d(T(info[0]), T(info[1]), optT(info[2]), {I(info[3]), I(info[4])}, {I(info[5]), I(info[6])},
                 {I(info[7]), I(info[8])}, I(info[9])));
}

// (x, w, b|null, sh, sw, ph, pw, dh, dw, groups, oph, opw)
Napi::Value convTranspose2d(const Info& info) {
  RET(at::conv_transpose2d(T(info[0]), T(info[1]), optT(info[2]), {I(info[3]), I(info[4])},
                           {I(info[5]), I(info[6])}, {I(info[10]), I(info[11])}, I(info[9]),
                           {I(info[7]), I(info[8])}));
}

Napi::Value linear(const Info& info) { RET(at::linear(T(info[0]), T(info[1]), optT(info[2]))); }
Napi::Value matmul(const Info& info) { RET(at::matmul(T(info[0]), T(info[1]))); }

// ---- element-wise ----
#define BINARY(name, fn)                                       \
  Napi::Value name(const Info& info) {                         \
    const at::Tensor& a = T(info[0]);                          \
    if (info[1].IsNumber()) RET(fn(a, at::Scalar(D(info[1])))); \
    RET(fn(a, T(info[1])));                                    \
  }
BINARY(add, at::add)
BINARY(sub, at::sub)
BINARY(mul, at::mul)
BINARY(div, at::div)

#define UNARY(name, expr) \
  Napi::Value name(const Info& info) { const at::Tensor& x = T(info[0]); RET(expr); }
UNARY(neg, at::neg(x))
UNARY(sqrt, at::sqrt(x))
UNARY(exp, at::exp(x))
UNARY(log, at::log(x))
UNARY(abs, at::abs(x))
UNARY(relu, at::relu(x))
UNARY(gelu, at::gelu(x))
UNARY(sigmoid, at::sigmoid(x))
UNARY(clone, at::clone(x))
UNARY(detach, x.detach())
UNARY(pow, at::pow(x, at::Scalar(D(info[1]))))
UNARY(clamp, at::clamp(x, at::Scalar(D(info[1])), at::Scalar(D(info[2]))))
UNARY(leakyRelu, at::leaky_relu(x, at::Scalar(D(info[1]))))
UNARY(softmax, at::softmax(x, I(info[1])))

// ---- reductions: (x, dims|null, keepDim) ----
std::vector<int64_t> dimsOr(const at::Tensor& x, const Napi::Value& v) {
  if (!v.IsNull() && !v.IsUndefined()) return ints(v);
  std::vector<int64_t> all(x.dim());
  for (int64_t i = 0; i < x.dim(); ++i) all[i] = i;
  return all;
}
UNARY(sum, at::sum(x, dimsOr(x, info[1]), B(info[2])))
UNARY(mean, at::mean(x, dimsOr(x, info[1]), B(info[2])))
UNARY(variance, at::var(x, dimsOr(x, info[1]), false, B(info[2])))
UNARY(max, std::get<0>(at::max(x, I(info[1]), B(info[2]))))
UNARY(argmax, at::argmax(x, I(info[1]), B(info[2])))

// ---- normalisation / resampling ----
// (x, normalizedShape, w|null, b|null, eps)
UNARY(layerNorm, at::layer_norm(x, ints(info[1]), optT(info[2]), optT(info[3]), D(info[4]), true))
UNARY(pixelShuffle, at::pixel_shuffle(x, I(info[1])))
// (x, outH, outW): align_corners = false, sizes given (no scale factors), as F.interpolate(size=...)
UNARY(resizeBilinear, at::upsample_bilinear2d(x, {I(info[1]), I(info[2])}, false, c10::nullopt, c10::nullopt))
// (x, kernel, stride, padding)
UNARY(maxPool2d, at::max_pool2d(x, {I(info[1]), I(info[1])}, {I(info[2]), I(info[2])}, {I(info[3]), I(info[3])},
                                {1, 1}, false))
UNARY(avgPool2d, at::avg_pool2d(x, {I(info[1]), I(info[1])}, {I(info[2]), I(info[2])}, {I(info[3]), I(info[3])},
                                false, true, c10::nullopt))

// (x, left, right, top, bottom, mode 0 zeros | 1 replicate | 2 reflect, value)
Napi::Value pad(const Info& info) {
  const at::Tensor& x = T(info[0]);
  std::vector<int64_t> p = {I(info[1]), I(info[2]), I(info[3]), I(info[4])};
  switch (I(info[5])) {
    case 1: RET(at::replication_pad2d(x, p));
    case 2: RET(at::reflection_pad2d(x, p));
    default: RET(at::constant_pad_nd(x, p, at::Scalar(D(info[6]))));
  }
}

// ---- shape / indexing ----
UNARY(reshape, at::reshape(x, ints(info[1])))
UNARY(permute, x.permute(ints(info[1])))
UNARY(transpose, at::transpose(x, I(info[1]), I(info[2])))
UNARY(flip, at::flip(x, ints(info[1])))
UNARY(narrow, at::narrow(x, I(info[1]), I(info[2]), I(info[3])))

Napi::Value cat(const Info& info) { RET(at::cat(tensors(info[0]), I(info[1]))); }
Napi::Value stack(const Info& info) { RET(at::stack(tensors(info[0]), I(info[1]))); }

Napi::Value split(const Info& info) {
  return wrapAll(info.Env(), at::split_with_sizes(T(info[0]), ints(info[1]), I(info[2])));
}

at::Tensor asLong(const at::Tensor& i) { return i.scalar_type() == at::kLong ? i : i.to(at::kLong); }
UNARY(indexSelect, at::index_select(x, I(info[1]), asLong(T(info[2]))))
UNARY(gather, at::gather(x, I(info[1]), asLong(T(info[2]))))
UNARY(oneHot, at::one_hot(asLong(x), I(info[1])).to(at::kFloat))

// Hard Gumbel-softmax with a straight-through gradient, the same steps (and random draws) as
// torch.nn.functional.gumbel_softmax(logits, tau, hard=True, dim).
Napi::Value gumbelSoftmaxHard(const Info& info) {
  const at::Tensor& logits = T(info[0]);
  int64_t dim = I(info[1]);
  double tau = D(info[2]);
  at::Tensor gumbels = -at::empty_like(logits, at::MemoryFormat::Contiguous).exponential_().log();
  at::Tensor ySoft = at::softmax((logits + gumbels) / tau, dim);
  at::Tensor index = std::get<1>(ySoft.max(dim, true));
  at::Tensor yHard = at::zeros_like(logits, at::MemoryFormat::Contiguous).scatter_(dim, index, 1.0);
  RET(yHard - ySoft.detach() + ySoft);
}

}  // namespace

void initOps(Napi::Env env, Napi::Object exports) {
  LSR_DEF(exports, conv2d);
  LSR_DEF(exports, convTranspose2d);
  LSR_DEF(exports, linear);
  LSR_DEF(exports, matmul);
  LSR_DEF(exports, add);
  LSR_DEF(exports, sub);
  LSR_DEF(exports, mul);
  LSR_DEF(exports, div);
  LSR_DEF(exports, neg);
  LSR_DEF(exports, sqrt);
  LSR_DEF(exports, exp);
  LSR_DEF(exports, log);
  LSR_DEF(exports, abs);
  LSR_DEF(exports, relu);
  LSR_DEF(exports, gelu);
  LSR_DEF(exports, sigmoid);
  LSR_DEF(exports, clone);
  LSR_DEF(exports, detach);
  LSR_DEF(exports, pow);
  LSR_DEF(exports, clamp);
  LSR_DEF(exports, leakyRelu);
  LSR_DEF(exports, softmax);
  LSR_DEF(exports, sum);
  LSR_DEF(exports, mean);
  LSR_DEF(exports, variance);
  LSR_DEF(exports, max);
  LSR_DEF(exports, argmax);
  LSR_DEF(exports, layerNorm);
  LSR_DEF(exports, pixelShuffle);
  LSR_DEF(exports, resizeBilinear);
  LSR_DEF(exports, maxPool2d);
  LSR_DEF(exports, avgPool2d);
  LSR_DEF(exports, pad);
  LSR_DEF(exports, reshape);
  LSR_DEF(exports, permute);
  LSR_DEF(exports, transpose);
  LSR_DEF(exports, flip);
  LSR_DEF(exports, narrow);
  LSR_DEF(exports, cat);
  LSR_DEF(exports, stack);
  LSR_DEF(exports, split);
  LSR_DEF(exports, indexSelect);
  LSR_DEF(exports, gather);
  LSR_DEF(exports, oneHot);
  LSR_DEF(exports, gumbelSoftmaxHard);
}

}  // namespace lsr
