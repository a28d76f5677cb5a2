// The MPI job a critmin process belongs to, if any. critmin calls MPI only when mpirun started it
// (its environment says so): a plain `critmin ensemble` is a world of one rank and never touches
// MPI, so it needs no MPI launcher, daemon or network. docs/simulation.md explains why.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace critmin::cli {

class MpiWorld {
 public:
  // Joins the MPI job when the environment shows an MPI launcher (Open MPI's mpirun sets
  // OMPI_COMM_WORLD_SIZE, PMIx launchers set PMIX_RANK); otherwise a world of rank 0 of 1.
  MpiWorld();
  ~MpiWorld();  // leaves the job (MPI_Finalize) when it joined one
  MpiWorld(const MpiWorld&) = delete;
  MpiWorld& operator=(const MpiWorld&) = delete;

  bool joined() const { return joined_; }
  int rank() const { return rank_; }
  int size() const { return size_; }

  // Gathers every rank's doubles on rank 0, in rank order (empty on the other ranks).
  std::vector<std::vector<double>> gather(const std::vector<double>& mine) const;
  // Gathers one integer of every rank on rank 0, in rank order (empty on the other ranks).
  std::vector<std::uint64_t> gather(std::uint64_t mine) const;
  // The smallest of every rank's value, on every rank.
  std::uint64_t min_all(std::uint64_t mine) const;
  // The largest of every rank's value, on every rank.
  int max_all(int mine) const;

 private:
  bool joined_ = false;
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace critmin::cli
