// The one C++ file of latent: LibTorch behind the C table of torch_backend.h.
// Built as a module that core/backend.c opens on the first model load, so processes
// that never load a model (gst-inspect, registry scans, lv2ls) never map LibTorch.
#include "torch_backend.h"

#include <torch/csrc/jit/passes/pass_manager.h>
#include <torch/csrc/jit/runtime/custom_operator.h>
#include <torch/csrc/jit/runtime/print_handler.h>
#include <torch/script.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>
#include <torch/version.h>
#include <ATen/Parallel.h>
#include <c10/core/CPUAllocator.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <unordered_map>
#include <regex>
#include <string>
#include <vector>

// A tensor attribute's value right after load, to restore streaming state in place.
struct StateSlot {
  torch::jit::Module owner;
  std::string name;
  at::Tensor initial;
};

struct LatentTorchModule {
  torch::jit::Module module;
  std::vector<StateSlot> initial_state;
};

namespace {

char *dup_string(const std::string &s) {
  char *copy = static_cast<char *>(std::malloc(s.size() + 1));
  if (copy) std::memcpy(copy, s.c_str(), s.size() + 1);
  return copy;
}

void set_error(char **error, const std::string &message) {
  if (error && !*error) *error = dup_string(message);
}

// LibTorch messages span many lines (source excerpts, C++ stacks): keep the first useful one.
std::string first_line(const std::string &what) {
  std::string line = what.substr(0, what.find('\n'));
  while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.pop_back();
  return line.empty() ? std::string("unknown LibTorch error") : line;
}

// Load failures get an explanation a user can act on.
std::string explain_load_error(const std::string &what) {
  static const std::regex unknown_op("Unknown builtin op: ([A-Za-z0-9_:.]+)");
  std::smatch match;
  if (std::regex_search(what, match, unknown_op)) {
    std::string op = match[1].str();
    while (!op.empty() && op.back() == '.') op.pop_back();  // the message's full stop
    return "operator " + op + " is not in LibTorch " TORCH_VERSION
           ": the model was exported with a newer torch. Build latent against a newer "
           "LibTorch (meson setup build -Dlibtorch_dir=/path/to/libtorch) or re-export the "
           "model with torch <= 1.13.1";
  }
  if (what.find("PytorchStreamReader") != std::string::npos ||
      what.find("central directory") != std::string::npos ||
      what.find("constants.pkl") != std::string::npos ||
      what.find("zip archive") != std::string::npos) {
    return "not a TorchScript archive (" + first_line(what) + ")";
  }
  if (what.find("open file failed") != std::string::npos) {
    return "cannot open the file (" + first_line(what) + ")";
  }
  return first_line(what);
}

// An exception raised inside TorchScript code reads "The following operation failed in the
// TorchScript interpreter.", a traceback, then the model's own "builtins.ValueError: ..." (or
// "RuntimeError: ...") line: that last line is what the user needs.
std::string run_error_line(const std::string &what) {
  static const std::string interpreter = "The following operation failed in the TorchScript";
  if (what.compare(0, interpreter.size(), interpreter) != 0) return first_line(what);
  static const std::regex raised("(?:^|\\n)(?:builtins\\.)?([A-Za-z_.]*(?:Error|Exception)): ([^\\n]*)");
  std::string found;
  for (std::sregex_iterator it(what.begin(), what.end(), raised), end; it != end; ++it)
    found = (*it)[1].str() + ": " + (*it)[2].str();
  return found.empty() ? first_line(what) : found;
}

template <typename F> int guarded(char **error, F &&body) {
  try {
    return body();
  } catch (const c10::Error &e) {
    set_error(error, run_error_line(e.what_without_backtrace()));
  } catch (const std::exception &e) {
    set_error(error, run_error_line(e.what()));
  }
  return 0;
}

char **to_strv(const std::vector<std::string> &names) {
  char **strv = static_cast<char **>(std::calloc(names.size() + 1, sizeof(char *)));
  for (size_t i = 0; strv && i < names.size(); i++) strv[i] = dup_string(names[i]);
  return strv;
}

// at::set_num_threads acts on the calling thread's pool: set it where the work runs.
void use_threads(int threads) {
  thread_local int current = -1;
  if (threads < 1) threads = 1;
  if (threads != current) {
    at::set_num_threads(threads);
    current = threads;
  }
}

bool ivalue_to_number(const c10::IValue &v, double *value) {
  if (v.isInt()) *value = static_cast<double>(v.toInt());
  else if (v.isDouble()) *value = v.toDouble();
  else if (v.isBool()) *value = v.toBool() ? 1.0 : 0.0;
  else if (v.isTensor() && v.toTensor().numel() == 1) *value = v.toTensor().item<double>();
  else if (v.isList() && v.toListRef().size() == 1) return ivalue_to_number(v.toListRef()[0], value);
  else return false;
  return true;
}

// Graph optimisations, counted by a post-fusion pass that every executor runs once per graph it
// optimises. The thread-local count tells a run which compilations happened inside it.
std::atomic<uint64_t> compilations_total{0};
std::atomic<uint64_t> compilations_streaming{0};
thread_local uint64_t compilations_here = 0;

void count_compilation(std::shared_ptr<torch::jit::Graph> &) {
  compilations_total++;
  compilations_here++;
}

uint64_t backend_graph_compilations(uint64_t *streaming) {
  if (streaming) *streaming = compilations_streaming.load();
  return compilations_total.load();
}

// torch 2.x writes F.scaled_dot_product_attention as this operator; LibTorch 1.13 lacks it.
// Same schema as torch 2.5+ (earlier 2.x files pass a prefix of it), computed as plain math.
const char *const sdpa_schema =
    "aten::scaled_dot_product_attention(Tensor query, Tensor key, Tensor value, "
    "Tensor? attn_mask=None, float dropout_p=0.0, bool is_causal=False, *, float? scale=None, "
    "bool enable_gqa=False) -> Tensor";

at::Tensor attention_math(at::Tensor q, at::Tensor k, at::Tensor v,
    const c10::optional<at::Tensor> &mask, double dropout_p, bool is_causal,
    c10::optional<double> scale, bool enable_gqa) {
  if (enable_gqa && q.dim() >= 3 && k.size(-3) != q.size(-3)) {
    const int64_t groups = q.size(-3) / k.size(-3);
    k = k.repeat_interleave(groups, -3);
    v = v.repeat_interleave(groups, -3);
  }
  const double factor = scale ? *scale : 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  at::Tensor scores = at::matmul(q, k.transpose(-2, -1)) * factor;
  if (is_causal) {
    at::Tensor keep = at::ones({q.size(-2), k.size(-2)}, q.options().dtype(at::kBool)).tril();
    scores = scores.masked_fill(keep.logical_not(), -std::numeric_limits<double>::infinity());
  }
  if (mask && mask->defined()) {
    if (mask->scalar_type() == at::kBool)
      scores = scores.masked_fill(mask->logical_not(), -std::numeric_limits<double>::infinity());
    else
      scores = scores + *mask;
  }
  at::Tensor weights = at::softmax(scores, -1);
  if (dropout_p > 0.0) weights = at::dropout(weights, dropout_p, true);
  return at::matmul(weights, v);
}

void sdpa_operation(torch::jit::Stack &stack) {
  const bool enable_gqa = torch::jit::pop(stack).toBool();
  const c10::IValue scale = torch::jit::pop(stack);
  const bool is_causal = torch::jit::pop(stack).toBool();
  const double dropout_p = torch::jit::pop(stack).toDouble();
  const c10::IValue mask = torch::jit::pop(stack);
  at::Tensor v = torch::jit::pop(stack).toTensor();
  at::Tensor k = torch::jit::pop(stack).toTensor();
  at::Tensor q = torch::jit::pop(stack).toTensor();
  torch::jit::push(stack, attention_math(q, k, v,
      mask.isNone() ? c10::optional<at::Tensor>() : mask.toTensor(), dropout_p, is_causal,
      scale.isNone() ? c10::optional<double>() : scale.toDouble(), enable_gqa));
}

void register_missing_operators() {
  const auto sdpa = c10::Symbol::fromQualString("aten::scaled_dot_product_attention");
  if (!torch::jit::getAllOperatorsFor(sdpa).empty()) return;
  torch::jit::RegisterOperators registered({torch::jit::Operator(sdpa_schema, sdpa_operation,
      c10::AliasAnalysisKind::FROM_SCHEMA)});
}

// Streaming runs the same shapes block after block, and LibTorch's default CPU allocator
// takes every intermediate tensor from malloc: about 14% of a RAVE decoder's block went to
// glibc, and more on a thread whose arena is fragmented (an LV2 worker against a bare loop on
// another thread: 5-10% slower). Each thread keeps the blocks it freed, by size, and takes
// them back first (most recently freed first: still in cache).
class CachingCpuAllocator final : public c10::Allocator {
 public:
  static std::atomic<uint64_t> system_allocations; // blocks not found in a cache
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
  c10::DataPtr allocate(size_t n) override { return take(n); }
  void copy_data(void *dest, const void *src, std::size_t count) const override {
    std::memcpy(dest, src, count);
  }
#else
  c10::DataPtr allocate(size_t n) const override { return take(n); }
#endif
  c10::DeleterFnPtr raw_deleter() const override { return &give_back; }

 private:
  struct ThreadCache;
  // Before the data, in a header that keeps it 64-byte aligned (LibTorch's alignment).
  struct Header {
    size_t size;
    const ThreadCache *owner;
  };
  static constexpr size_t header = 64;
  static constexpr size_t max_cached = size_t{256} << 20;  // per thread
  static constexpr size_t keep_on_miss = size_t{32} << 20; // see take()
  struct ThreadCache {
    std::unordered_map<size_t, std::vector<void *>> free_blocks;
    size_t cached = 0;
    void clear() {
      for (auto &entry : free_blocks)
        for (void *block : entry.second) std::free(block);
      free_blocks.clear();
      cached = 0;
    }
    ~ThreadCache() {
      clear();
      gone = true;
    }
  };
  static thread_local ThreadCache cache;
  // Set once this thread's cache is destroyed: tensors freed later at thread exit go to free().
  static thread_local bool gone;

  // 64-byte steps up to 64 KiB, then eighths of a power of two (at most 12.5% unused).
  static size_t size_class(size_t n) {
    if (n <= 65536) return (std::max<size_t>(n, 1) + 63) & ~size_t{63};
    size_t step = size_t{1} << (63 - __builtin_clzll(n) - 3);
    return (n + step - 1) & ~(step - 1);
  }
  static c10::DataPtr take(size_t n) {
    // Far above any machine's memory, and low enough that the size class cannot wrap.
    TORCH_CHECK(n <= (size_t{1} << 56), "latent: cannot allocate ", n, " bytes for a tensor");
    const size_t size = size_class(n);
    void *block = nullptr;
    if (!gone) {
      auto it = cache.free_blocks.find(size);
      if (it != cache.free_blocks.end() && !it->second.empty()) {
        block = it->second.back();
        it->second.pop_back();
        cache.cached -= size;
      } else if (cache.cached > keep_on_miss) {
        // A steady stream never misses: a miss over a large cache means other shapes or another
        // model now, and the old sizes would only hold memory.
        cache.clear();
      }
    }
    if (!block) {
      if (posix_memalign(&block, header, size + header) != 0) block = nullptr;
      TORCH_CHECK(block, "latent: cannot allocate ", n, " bytes for a tensor");
      system_allocations++;
    }
    Header *head = static_cast<Header *>(block);
    head->size = size;
    head->owner = gone ? nullptr : &cache;
    void *data = static_cast<char *>(block) + header;
    return {data, data, &give_back, c10::Device(c10::DeviceType::CPU)};
  }
  static void give_back(void *data) {
    if (!data) return;
    void *block = static_cast<char *>(data) - header;
    const Header *head = static_cast<const Header *>(block);
    const size_t size = head->size;
    // Only the thread that allocated a block keeps it: a model's weights freed by the thread
    // that unloads it would otherwise sit in that thread's cache, never reused.
    if (!gone && head->owner == &cache && cache.cached + size <= max_cached) {
      cache.free_blocks[size].push_back(block);
      cache.cached += size;
      return;
    }
    std::free(block);
  }
};
thread_local CachingCpuAllocator::ThreadCache CachingCpuAllocator::cache;
thread_local bool CachingCpuAllocator::gone = false;
std::atomic<uint64_t> CachingCpuAllocator::system_allocations{0};

// AddressSanitizer must see every tensor's free to find a use after it.
#if defined(__SANITIZE_ADDRESS__)
#define LATENT_CACHE_TENSORS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LATENT_CACHE_TENSORS 0
#endif
#endif
#ifndef LATENT_CACHE_TENSORS
#define LATENT_CACHE_TENSORS 1
#endif

bool tensor_cache_wanted() {
  const char *env = std::getenv("LATENT_TENSOR_CACHE");
  return LATENT_CACHE_TENSORS && !(env && std::strcmp(env, "0") == 0);
}

uint64_t backend_tensor_allocations(void) {
  return CachingCpuAllocator::system_allocations.load();
}

void init_once() {
  static bool done = false;
  if (done) return;
  done = true;
  // The profiling executor makes the first calls of every method very slow.
  torch::jit::getProfilingMode() = false;
  torch::jit::getExecutorMode() = false;
  torch::jit::registerPostPass(count_compilation);
  // AFTER exports print from their methods: stdout may be the pipeline's output (fdsink).
  torch::jit::setPrintHandler([](const std::string &text) { std::fputs(text.c_str(), stderr); });
  register_missing_operators();
  // Never destroyed: LibTorch keeps the pointer until the process ends.
  if (tensor_cache_wanted()) c10::SetCPUAllocator(new CachingCpuAllocator, 1);
  try {
    at::set_num_interop_threads(1);
  } catch (...) {
    // Already set by the host process (another torch user): keep its choice.
  }
}

void snapshot_state(LatentTorchModule *m) {
  for (const auto &owner : m->module.modules()) {
    const auto type = owner.type();
    for (size_t i = 0; i < type->numAttributes(); i++) {
      if (type->is_parameter(i) || type->getAttribute(i)->kind() != c10::TypeKind::TensorType)
        continue;
      const c10::IValue value = owner._ivalue()->getSlot(i);
      if (value.isTensor() && value.toTensor().defined())
        m->initial_state.push_back({owner, type->getAttributeName(i), value.toTensor().clone()});
    }
  }
}

int backend_restore_state(LatentTorchModule *m, char **error) {
  return guarded(error, [&] {
    c10::InferenceMode guard;
    for (auto &slot : m->initial_state) {
      const c10::IValue now = slot.owner.attr(slot.name);
      if (now.isTensor() && now.toTensor().defined() &&
          now.toTensor().sizes() == slot.initial.sizes() &&
          now.toTensor().scalar_type() == slot.initial.scalar_type())
        now.toTensor().copy_(slot.initial);
      else  // the model replaced the tensor with one of another shape: put a copy back
        slot.owner.setattr(slot.name, slot.initial.clone());
    }
    return 1;
  });
}

LatentTorchModule *backend_load(const char *path, char **error) {
  init_once();
  try {
    auto *m = new LatentTorchModule{torch::jit::load(path, torch::kCPU), {}};
    m->module.eval();
    snapshot_state(m);
    return m;
  } catch (const c10::Error &e) {
    set_error(error, explain_load_error(e.what_without_backtrace()));
  } catch (const std::exception &e) {
    set_error(error, explain_load_error(e.what()));
  }
  return nullptr;
}

void backend_free(LatentTorchModule *m) { delete m; }

char **backend_list_methods(LatentTorchModule *m) {
  std::vector<std::string> names;
  try {
    for (const auto &method : m->module.get_methods()) names.push_back(method.name());
  } catch (...) {
  }
  return to_strv(names);
}

char **backend_call_string_list(LatentTorchModule *m, const char *method, char **error) {
  char **result = nullptr;
  guarded(error, [&] {
    auto found = m->module.find_method(method);
    if (!found) {
      set_error(error, std::string("no method ") + method);
      return 0;
    }
    c10::IValue out = (*found)(std::vector<c10::IValue>{});
    if (!out.isList()) {
      set_error(error, std::string(method) + "() did not return List[str]");
      return 0;
    }
    std::vector<std::string> names;
    for (const auto &item : out.toListRef()) {
      if (item.isString()) names.push_back(item.toStringRef());
    }
    result = to_strv(names);
    return 1;
  });
  return result;
}

int backend_get_int_list(LatentTorchModule *m, const char *name, int64_t *values, int max) {
  try {
    if (!m->module.hasattr(name)) return -1;
    c10::IValue v = m->module.attr(name);
    std::vector<int64_t> ints;
    if (v.isTensor() && v.toTensor().is_floating_point()) {
      // nn~ 1.5.6 files store _params as floats: take them only when they are whole numbers.
      at::Tensor t = v.toTensor().to(torch::kDouble).contiguous().flatten();
      for (int64_t i = 0; i < t.numel(); i++) {
        const double x = t.data_ptr<double>()[i];
        if (!std::isfinite(x) || x != std::floor(x) || std::fabs(x) > 9007199254740992.0)
          return -2;
        ints.push_back(static_cast<int64_t>(x));
      }
    } else if (v.isTensor()) {
      at::Tensor t = v.toTensor().to(torch::kLong).contiguous().flatten();
      ints.assign(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + t.numel());
    } else if (v.isIntList()) {
      ints = v.toIntVector();
    } else if (v.isInt()) {
      ints.push_back(v.toInt());
    } else {
      return -1;
    }
    for (size_t i = 0; i < ints.size() && static_cast<int>(i) < max; i++) values[i] = ints[i];
    return static_cast<int>(ints.size());
  } catch (...) {
    return -1;
  }
}

int backend_get_number(LatentTorchModule *m, const char *name, double *value) {
  try {
    if (!m->module.hasattr(name)) return 0;
    return ivalue_to_number(m->module.attr(name), value) ? 1 : 0;
  } catch (...) {
    return 0;
  }
}

int backend_call_getter(LatentTorchModule *m, const char *method, double *value, char **error) {
  return guarded(error, [&] {
    auto found = m->module.find_method(method);
    if (!found) {
      set_error(error, std::string("no method ") + method);
      return 0;
    }
    c10::IValue out = (*found)(std::vector<c10::IValue>{});
    if (!ivalue_to_number(out, value)) {
      set_error(error, std::string(method) + "() returned " + out.tagKind() + ", not a number");
      return 0;
    }
    return 1;
  });
}

int backend_call_setter(LatentTorchModule *m, const char *method, double value, double *result,
    char **error) {
  return guarded(error, [&] {
    auto found = m->module.find_method(method);
    if (!found) {
      set_error(error, std::string("no method ") + method);
      return 0;
    }
    const auto &args = found->function().getSchema().arguments();
    if (args.size() != 2) {
      set_error(error, std::string(method) + " takes " + std::to_string(args.size() - 1) +
                           " arguments, expected 1");
      return 0;
    }
    c10::IValue arg;
    const auto kind = args[1].type()->kind();
    if (kind == c10::TypeKind::IntType) arg = static_cast<int64_t>(std::llround(value));
    else if (kind == c10::TypeKind::BoolType) arg = value != 0.0;
    else if (kind == c10::TypeKind::FloatType || kind == c10::TypeKind::NumberType) arg = value;
    else if (kind == c10::TypeKind::TensorType) arg = torch::tensor(static_cast<float>(value));
    else {
      set_error(error, std::string(method) + " takes " + args[1].type()->str() +
                           ", expected int, float or bool");
      return 0;
    }
    c10::IValue out = (*found)(std::vector<c10::IValue>{arg});
    double r = 0.0;
    if (result) *result = ivalue_to_number(out, &r) ? r : 0.0;
    return 1;
  });
}

int backend_call_void(LatentTorchModule *m, const char *method, char **error) {
  return guarded(error, [&] {
    auto found = m->module.find_method(method);
    if (!found) {
      set_error(error, std::string("no method ") + method);
      return 0;
    }
    c10::InferenceMode guard;
    (*found)(std::vector<c10::IValue>{});
    return 1;
  });
}

int backend_run(LatentTorchModule *m, const char *method, const float *in, int in_channels,
    int in_frames, float *out, int out_channels, int out_frames, int threads, int streaming,
    char **error) {
  const uint64_t compiled_before = compilations_here;
  struct CountStreamingCompilations {
    uint64_t before;
    bool streaming;
    ~CountStreamingCompilations() {
      if (streaming && compilations_here != before)
        compilations_streaming += compilations_here - before;
    }
  } count{compiled_before, streaming != 0};
  return guarded(error, [&] {
    use_threads(threads);
    c10::InferenceMode guard;
    auto found = m->module.find_method(method);
    if (!found) {
      set_error(error, std::string("no method ") + method);
      return 0;
    }
    // The model may write into its input: give it a tensor of its own.
    at::Tensor x = torch::from_blob(const_cast<float *>(in), {1, in_channels, in_frames},
        torch::kFloat32).clone();
    x.nan_to_num_(0.0, 0.0, 0.0);  // a NaN latent would poison the model's caches
    c10::IValue result = (*found)(std::vector<c10::IValue>{x});
    if (result.isTuple()) result = result.toTupleRef().elements()[0];
    if (!result.isTensor()) {
      set_error(error, std::string(method) + " returned " + result.tagKind() + ", not a tensor");
      return 0;
    }
    at::Tensor y = result.toTensor();
    if (y.dim() == 2) y = y.unsqueeze(0);
    if (y.dim() != 3 || y.size(0) != 1 || y.size(1) != out_channels || y.size(2) != out_frames) {
      std::string shape;
      for (int64_t i = 0; i < y.dim(); i++) shape += (i ? "," : "") + std::to_string(y.size(i));
      set_error(error, std::string(method) + " returned shape [" + shape + "], expected [1," +
                           std::to_string(out_channels) + "," + std::to_string(out_frames) +
                           "] from its _params");
      return 0;
    }
    y = y.to(torch::kFloat32).contiguous();
    std::memcpy(out, y.data_ptr<float>(), sizeof(float) * out_channels * out_frames);
    return 1;
  });
}

int visit_tensor(const std::string &name, const at::Tensor &value, bool is_buffer,
    LatentArchiveVisitor visit, void *user_data, char **error) {
  if (value.dim() > 8) {
    set_error(error, name + " has " + std::to_string(value.dim()) + " dimensions, at most 8 supported");
    return 0;
  }
  at::Tensor t = value.detach().cpu();
  LatentNamedTensor named{};
  if (t.is_floating_point()) {
    t = t.to(torch::kFloat32).contiguous();
    named.dtype = LATENT_DTYPE_FLOAT32;
    named.data = t.data_ptr<float>();
  } else {
    t = t.to(torch::kLong).contiguous();
    named.dtype = LATENT_DTYPE_INT64;
    named.data = t.data_ptr<int64_t>();
  }
  named.name = const_cast<char *>(name.c_str());
  named.ndim = static_cast<int>(t.dim());
  for (int i = 0; i < named.ndim; i++) named.shape[i] = t.size(i);
  named.is_buffer = is_buffer;
  return visit(&named, user_data);
}

int backend_read_archive(const char *path, LatentArchiveVisitor visit, void *user_data,
    char **error) {
  init_once();
  torch::jit::Module module;
  try {
    module = torch::jit::load(path, torch::kCPU);
  } catch (const c10::Error &e) {
    set_error(error, explain_load_error(e.what_without_backtrace()));
    return 0;
  } catch (const std::exception &e) {
    set_error(error, explain_load_error(e.what()));
    return 0;
  }
  return guarded(error, [&] {
    for (const auto &p : module.named_buffers(true))
      if (!visit_tensor(p.name, p.value, true, visit, user_data, error)) return 0;
    for (const auto &p : module.named_parameters(true))
      if (!visit_tensor(p.name, p.value, false, visit, user_data, error)) return 0;
    return 1;
  });
}

at::Tensor to_tensor(const LatentNamedTensor *t) {
  std::vector<int64_t> shape(t->shape, t->shape + t->ndim);
  auto dtype = t->dtype == LATENT_DTYPE_INT64 ? torch::kLong : torch::kFloat32;
  return torch::from_blob(t->data, shape, dtype).clone();
}

// Dotted names become nested archives (submodules), as torch::nn::Module saves them.
void fill_archive(torch::serialize::OutputArchive &archive,
    const std::vector<std::pair<std::string, LatentNamedTensor *>> &entries) {
  std::vector<std::string> child_order;
  std::map<std::string, std::vector<std::pair<std::string, LatentNamedTensor *>>> children;
  for (const auto &entry : entries) {
    const auto dot = entry.first.find('.');
    if (dot == std::string::npos) {
      archive.write(entry.first, to_tensor(entry.second), entry.second->is_buffer);
    } else {
      const std::string head = entry.first.substr(0, dot);
      if (!children.count(head)) child_order.push_back(head);
      children[head].emplace_back(entry.first.substr(dot + 1), entry.second);
    }
  }
  for (const auto &head : child_order) {
    torch::serialize::OutputArchive child;
    fill_archive(child, children[head]);
    archive.write(head, child);
  }
}

int backend_write_archive(const char *path, LatentNamedTensor *const *tensors, unsigned n,
    char **error) {
  init_once();
  return guarded(error, [&] {
    std::vector<std::pair<std::string, LatentNamedTensor *>> entries;
    for (unsigned i = 0; i < n; i++) entries.emplace_back(tensors[i]->name, tensors[i]);
    torch::serialize::OutputArchive archive;
    fill_archive(archive, entries);
    archive.save_to(path);
    return 1;
  });
}

const LatentTorchBackend backend_table = {
    LATENT_BACKEND_ABI,
    "LibTorch " TORCH_VERSION,
    backend_load,
    backend_free,
    backend_list_methods,
    backend_call_string_list,
    backend_get_int_list,
    backend_get_number,
    backend_call_getter,
    backend_call_setter,
    backend_call_void,
    backend_run,
    backend_restore_state,
    backend_graph_compilations,
    backend_tensor_allocations,
    backend_read_archive,
    backend_write_archive,
};

} // namespace

extern "C" __attribute__((visibility("default"))) const LatentTorchBackend *
latent_torch_backend(int abi) {
  return abi == LATENT_BACKEND_ABI ? &backend_table : nullptr;
}
