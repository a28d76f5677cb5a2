// MpiWorld: MPI only under an MPI launcher (mpi_world.h).
#include "mpi_world.h"

// The C interface only: Open MPI's mpi.h would otherwise pull in its deprecated C++ bindings,
// which need a library of their own.
#define OMPI_SKIP_MPICXX 1
#include <mpi.h>

#include <cstdlib>

namespace critmin::cli {
namespace {

bool launched_by_mpi() {
  for (const char* variable : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK"}) {
    if (std::getenv(variable) != nullptr) return true;
  }
  return false;
}

}  // namespace

MpiWorld::MpiWorld() {
  if (!launched_by_mpi()) return;
  // Only the main thread calls MPI; the worker threads compute runs and never communicate.
  int provided = 0;
  MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
  joined_ = true;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

MpiWorld::~MpiWorld() {
  if (joined_) MPI_Finalize();
}

std::vector<std::vector<double>> MpiWorld::gather(const std::vector<double>& mine) const {
  std::vector<std::vector<double>> all;
  if (!joined_) {
    all.push_back(mine);
    return all;
  }
  int count = static_cast<int>(mine.size());
  std::vector<int> counts(rank_ == 0 ? static_cast<std::size_t>(size_) : 0);
  MPI_Gather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
  std::vector<int> offsets(counts.size());
  std::vector<double> received;
  if (rank_ == 0) {
    int total = 0;
    for (std::size_t r = 0; r < counts.size(); ++r) {
      offsets[r] = total;
      total += counts[r];
    }
    received.resize(static_cast<std::size_t>(total));
  }
  MPI_Gatherv(mine.data(), count, MPI_DOUBLE, received.data(), counts.data(), offsets.data(),
              MPI_DOUBLE, 0, MPI_COMM_WORLD);
  for (std::size_t r = 0; r < counts.size(); ++r) {
    const auto begin = received.begin() + offsets[r];
    all.emplace_back(begin, begin + counts[r]);
  }
  return all;
}

std::vector<std::uint64_t> MpiWorld::gather(std::uint64_t mine) const {
  if (!joined_) return {mine};
  std::vector<std::uint64_t> all(rank_ == 0 ? static_cast<std::size_t>(size_) : 0);
  MPI_Gather(&mine, 1, MPI_UINT64_T, all.data(), 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
  return all;
}

std::uint64_t MpiWorld::min_all(std::uint64_t mine) const {
  if (!joined_) return mine;
  std::uint64_t result = mine;
  MPI_Allreduce(&mine, &result, 1, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD);
  return result;
}

int MpiWorld::max_all(int mine) const {
  if (!joined_) return mine;
  int result = mine;
  MPI_Allreduce(&mine, &result, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return result;
}

}  // namespace critmin::cli
