// Market region names as the simulation's tables hold them.
#pragma once

#include <string>

namespace critmin::sim {

// The region a market region belongs to: "AUS/certified" and "club/joint" belong to "AUS" and
// "club"; a plain name to itself.
inline std::string base_region(const std::string& name) { return name.substr(0, name.find('/')); }

}  // namespace critmin::sim
