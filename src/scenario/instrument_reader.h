// Reads one [[instrument]] table of a scenario into its typed spec.
#pragma once

#include <optional>

#include "critmin/policy/instrument_spec.h"
#include "critmin/world/dataset.h"
#include "scenario/toml_reader.h"

namespace critmin::scenario {

// The instrument of a table; nullopt when its type is missing or unknown. Every other problem
// (an unknown key, a value out of range, keys that exclude each other) is recorded in `fields`,
// and the spec is still returned so that later checks can run.
std::optional<policy::InstrumentSpec> read_instrument(TomlFields& fields, const toml::table& table,
                                                      const Dataset& data);

}  // namespace critmin::scenario
