// Did-you-mean for names people type: the candidates nearest to a name by edit distance.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace critmin {

// The nearest candidates to `name` by edit distance (case-insensitive), when within a small
// distance (at most a third of the name's length, at least 1, and 2 for names of six characters
// or more); only those at the smallest distance found, at most `limit`. Cost: O(candidates × |name|
// × |candidate|).
std::vector<std::string> nearest_names(std::string_view name,
                                       const std::vector<std::string>& candidates,
                                       std::size_t limit = 3);

// " (did you mean gallium?)" or " (did you mean gallium or germanium?)"; empty when none is near.
std::string did_you_mean(std::string_view name, const std::vector<std::string>& candidates);

}  // namespace critmin
