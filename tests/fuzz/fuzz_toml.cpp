// Fuzzes the TOML assumptions reader: any text must give overrides or a Status, never a crash,
// and accepted values must lie in [0,1].
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "critmin/metrics/assess.h"

namespace {

const critmin::Dataset& small_dataset() {
  static const critmin::Dataset data = [] {
    critmin::Dataset d;
    d.materials.push_back({"gallium", "Gallium", "material", "Gallium", "Gallium", "", "", {}});
    d.materials.push_back({"natural_graphite",
                           "Natural graphite",
                           "material",
                           "Natural graphite",
                           "",
                           "",
                           "",
                           {"Natural Graphite"}});
    return d;
  }();
  return data;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto overrides = critmin::read_assumptions(text, "fuzz.toml", small_dataset());
  if (!overrides.is_ok()) return 0;
  for (const auto& [id, o] : overrides.value()) {
    for (const auto& value : {o.eol_rir, o.substitution_index}) {
      if (value && (*value < 0.0 || *value > 1.0)) std::abort();
    }
  }
  return 0;
}
