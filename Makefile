# critmin — one entry point for people and CI.
#   make demo    install what is needed, build, run the assessment on the embedded data
#   make test    install, build, run every test (SANITIZE=1 for ASan+UBSan)
#   make build   install and build
#   make bench   build and run the benchmarks (make bench-market: only the market service's,
#                make bench-ensemble: only the simulation ensemble's)
#   make fuzz    build every libFuzzer target with clang and run each for FUZZ_SECONDS (30)
#   make format  apply clang-format to the tree

SHELL := /bin/bash
JOBS ?= 2
SANITIZE ?= 0
FUZZ_SECONDS ?= 30
SOURCES ?= data/sources

ifeq ($(SANITIZE),1)
BUILD_DIR ?= build-sanitize
CMAKE_FLAGS += -DCRITMIN_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
else
BUILD_DIR ?= build
CMAKE_FLAGS += -DCMAKE_BUILD_TYPE=RelWithDebInfo
endif

# Debian packages the build, the tests and the demo need. The python3-* ones build the Python
# package (pybind11) and run its tests: pytest, and nbclient with an ipykernel for the notebook.
DEB_PACKAGES := build-essential cmake pkg-config libfmt-dev libcli11-dev libtomlplusplus-dev \
  nlohmann-json3-dev libxlsxwriter-dev libsqlite3-dev coinor-libclp-dev libgtest-dev libbenchmark-dev iso-codes \
  libcpp-httplib-dev libsodium-dev zlib1g-dev libpq-dev postgresql libopenmpi-dev openmpi-bin \
  clang-format nodejs chromium \
  python3-dev python3-pybind11 python3-pandas python3-pytest python3-nbclient python3-nbformat \
  python3-ipykernel
FUZZ_PACKAGES := clang libclang-rt-14-dev
# Every libFuzzer target (tests/fuzz); each runs on its corpus in tests/fuzz/corpus/<name>.
FUZZ_TARGETS := fuzz_csv fuzz_toml fuzz_scenario fuzz_wal fuzz_http_frame

.PHONY: all deps build test demo bench bench-market bench-ensemble fuzz fuzz-deps format format-check clean

all: build

# Installs only what is missing; silent when everything is present. Debian's npm package only when
# no npm is on the PATH (some nodejs builds bring their own). npm packages (package.json,
# pinned by package-lock.json): Chart.js, which the build inlines into HTML reports and the
# dashboard, and playwright-core, which drives Chromium in the browser test.
deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q "install ok installed" || echo $$p; done); \
	command -v npm >/dev/null || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:" $$missing; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi
	@if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then \
	  echo "installing npm packages (npm ci)"; npm ci --no-audit --no-fund --loglevel=error; \
	fi

$(BUILD_DIR)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD_DIR) $(CMAKE_FLAGS) >/dev/null

build: deps $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j $(JOBS)
	@[ "$(BUILD_DIR)" = build ] || ln -sfn $(BUILD_DIR)/critmin build-critmin 2>/dev/null || true

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)
	@$(MAKE) --no-print-directory format-check

demo: build
	@mkdir -p out
	@echo "== critmin data check (the embedded default dataset)"
	$(BUILD_DIR)/critmin data check
	@echo
	@echo "== Stages where one third country supplies more than 65% (CRMA benchmark)"
	$(BUILD_DIR)/critmin assess --breaches-only --bloc club
	$(BUILD_DIR)/critmin assess --format json --bloc club --out out/assess.json
	$(BUILD_DIR)/critmin assess --format xlsx --bloc club --out out/assess.xlsx
	@echo
	@echo "== The gallium market when China bans exports of refined gallium to the club (with leakage)"
	$(BUILD_DIR)/critmin clear --material gallium --scenario scenarios/trade-gallium-ban.toml
	@echo
	@echo "== The club's instruments together on the gallium market (floor, certified segment, CfD, offtake, stockpile, joint purchasing)"
	$(BUILD_DIR)/critmin clear --material gallium --scenario scenarios/club-gallium-all-instruments.toml
	$(BUILD_DIR)/critmin clear --material gallium --scenario scenarios/club-gallium-all-instruments.toml --format json --out out/club-gallium.json
	@echo
	@echo "== Six years of the gallium market with a Chinese export ban on non-members (drawn from the seed)"
	$(BUILD_DIR)/critmin simulate scenarios/sim-gallium-ban-stockpile.toml --out out/sim-gallium-ban
	@echo
	@echo "== The two scorecards: the baseline, the risks without the club, and a club design (2025-2035)"
	$(BUILD_DIR)/critmin compare scenarios/baseline.toml scenarios/sim-risks-no-club.toml scenarios/club-design.toml --out out/compare --html out/compare.html --xlsx out/compare.xlsx
	@echo
	@echo "== Back-tests: the model's prediction next to what was observed"
	$(BUILD_DIR)/critmin backtest
	@echo
	@echo "== The report of the gallium-ban simulation: charts and scorecards in one HTML file, tables in XLSX"
	$(BUILD_DIR)/critmin report out/sim-gallium-ban --html out/report.html --xlsx out/sim-gallium-ban.xlsx
	@echo
	@echo "wrote out/assess.json, out/assess.xlsx, out/club-gallium.json, out/sim-gallium-ban/, out/compare/,"
	@echo "out/compare.html, out/compare.xlsx, out/sim-gallium-ban.xlsx and out/report.html (open the"
	@echo "HTML files in a browser; they work offline)"

bench: build
	$(BUILD_DIR)/bench/critmin_bench --data data --sources $(SOURCES)
	$(BUILD_DIR)/bench/critmin_market_bench --data data
	$(BUILD_DIR)/bench/critmin_ensemble_bench --data data

bench-market: build
	$(BUILD_DIR)/bench/critmin_market_bench --data data

bench-ensemble: build
	$(BUILD_DIR)/bench/critmin_ensemble_bench --data data

fuzz-deps:
	@missing=$$(for p in $(FUZZ_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q "install ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi
	@$(MAKE) --no-print-directory deps

fuzz: fuzz-deps
	CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCRITMIN_FUZZ=ON -DCRITMIN_TESTS=OFF -DCRITMIN_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build-fuzz -j $(JOBS) --target $(FUZZ_TARGETS)
	@set -e; for t in $(FUZZ_TARGETS); do \
	  corpus=$${t#fuzz_}; mkdir -p build-fuzz/corpus-$$corpus; \
	  echo "== $$t for $(FUZZ_SECONDS) s"; \
	  build-fuzz/tests/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -print_final_stats=1 \
	    build-fuzz/corpus-$$corpus tests/fuzz/corpus/$$corpus 2>&1 | tail -n 12; \
	  test $${PIPESTATUS[0]} -eq 0; \
	done

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')

format-check:
	@clang-format --dry-run -Werror $$(git ls-files '*.cpp' '*.h') && echo "clang-format: ok"

clean:
	rm -rf build build-sanitize build-fuzz build-san build-tsan out
