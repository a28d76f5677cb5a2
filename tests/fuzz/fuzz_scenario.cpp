// Fuzzes the scenario reader (for a simulation and for a clearing, on the embedded dataset):
// any text must give a scenario or a Status, never a crash, and an accepted simulation scenario
// must have its years in order.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "critmin/scenario/scenario.h"
#include "critmin/world/dataset.h"

namespace {

const critmin::Dataset& dataset() {
  static const critmin::Dataset data = [] {
    critmin::Result<critmin::Dataset> loaded = critmin::load_dataset(CRITMIN_FUZZ_DATA);
    if (!loaded.is_ok()) std::abort();  // the fuzzer needs the embedded dataset
    return std::move(loaded).value();
  }();
  return data;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto simulation = critmin::scenario::read_simulation_scenario(text, "fuzz.toml", dataset());
  if (simulation.is_ok() && simulation.value().last_year < simulation.value().first_year) {
    std::abort();
  }
  (void)critmin::scenario::read_clearing_scenario(text, "fuzz.toml", dataset(), 2026);
  return 0;
}
