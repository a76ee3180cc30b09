#include "run_plan.hpp"

#include <gtest/gtest.h>

#include <numeric>

namespace presence::sim {
namespace {

Options options_for(std::size_t shoppers, std::size_t processes, std::size_t addresses) {
  Options o;
  o.shoppers = shoppers;
  o.processes = processes;
  o.tabs_fraction = 0;
  for (std::size_t i = 0; i < addresses; ++i) {
    o.source_addresses.push_back(in_addr{htonl(0x7F000002u + static_cast<std::uint32_t>(i))});
  }
  return o;
}

constexpr Limits kLimits{20'000, 28'232};

TEST(RunPlan, SplitsShoppersEvenlyAndSharesAddUpToOne) {
  const Catalogue catalogue;
  const ShopperModel model(catalogue, 0.3);
  Options o = options_for(1001, 3, 1);
  o.tabs_fraction = 0.3;
  const RunPlan plan = make_plan(o, model, kLimits);
  ASSERT_EQ(plan.error, "");
  ASSERT_EQ(plan.slices.size(), 3u);
  EXPECT_EQ(plan.slices[0].shoppers, 334u);
  EXPECT_EQ(plan.slices[2].first_shopper, 334u + 334u);
  std::size_t connections = 0;
  double share = 0;
  for (const WorkerSlice& s : plan.slices) connections += s.connections, share += s.share;
  EXPECT_EQ(connections, plan.connections);
  EXPECT_GT(plan.connections, 1001u);  // some shoppers have tabs
  EXPECT_NEAR(share, 1.0, 1e-9);
}

TEST(RunPlan, TheAdminRunsInAProcessOfItsOwnWithNoShoppers) {
  const Catalogue catalogue;
  const ShopperModel model(catalogue, 0);
  Options o = options_for(100, 2, 1);
  EXPECT_EQ(make_plan(o, model, kLimits).slices.size(), 2u);  // no admin key: no admin process
  o.admin_key = KeySpec{"admin.pem", jwt::Alg::eddsa, "admin-1"};
  const RunPlan plan = make_plan(o, model, kLimits);
  ASSERT_EQ(plan.error, "");
  ASSERT_EQ(plan.slices.size(), 3u);
  EXPECT_FALSE(plan.slices[0].runs_admin);
  EXPECT_FALSE(plan.slices[1].runs_admin);
  EXPECT_TRUE(plan.slices[2].runs_admin);
  EXPECT_EQ(plan.slices[2].shoppers, 0u);
  EXPECT_EQ(plan.slices[2].connections, 0u);
  EXPECT_EQ(plan.slices[2].share, 0.0);  // sends no shopper updates
  EXPECT_EQ(plan.slices[0].shoppers + plan.slices[1].shoppers, 100u);
  EXPECT_EQ(plan.connections, 100u);
}

TEST(RunPlan, AProcessHoldsUpToTheOpenFilesLimitAndNotOneMore) {
  const Catalogue catalogue;
  const ShopperModel model(catalogue, 0);
  const std::size_t fits = kLimits.open_files - kReservedDescriptors;
  EXPECT_EQ(make_plan(options_for(fits, 1, 1), model, kLimits).error, "");
  const RunPlan over = make_plan(options_for(fits + 1, 1, 1), model, kLimits);
  EXPECT_NE(over.error.find("use --processes 2 or more"), std::string::npos) << over.error;
  EXPECT_EQ(make_plan(options_for(fits + 1, 2, 1), model, kLimits).error, "");
}

TEST(RunPlan, AnAddressOffersItsPortsAndNotOneMore) {
  const Catalogue catalogue;
  const ShopperModel model(catalogue, 0);
  const std::size_t fits = kLimits.ports_per_address;
  EXPECT_EQ(make_plan(options_for(fits, 2, 1), model, kLimits).error, "");
  const RunPlan over = make_plan(options_for(fits + 1, 2, 1), model, kLimits);
  EXPECT_NE(over.error.find("need 2 source addresses"), std::string::npos) << over.error;
  EXPECT_EQ(make_plan(options_for(fits + 1, 2, 2), model, kLimits).error, "");
}

TEST(ShopperModel, TabsAreDeterministicAndFollowTheFraction) {
  const Catalogue catalogue;
  const ShopperModel model(catalogue, 0.25);
  std::size_t with_tabs = 0;
  for (std::uint64_t s = 0; s < 10'000; ++s) {
    const std::size_t tabs = model.tabs_of(s);
    EXPECT_EQ(tabs, model.tabs_of(s));
    EXPECT_GE(tabs, 1u);
    EXPECT_LE(tabs, kMaxTabs);
    with_tabs += tabs > 1 ? 1 : 0;
  }
  EXPECT_NEAR(static_cast<double>(with_tabs) / 10'000, 0.25, 0.02);
}

TEST(ShopperModel, UpdatesStayWithinTheContract) {
  const Catalogue catalogue;
  const ShopperModel model(catalogue, 0);
  Rng rng(7);
  Cart cart;
  std::size_t page = model.landing_page(rng);
  for (int i = 0; i < 5000; ++i) {
    const nlohmann::json payload = nlohmann::json::parse(model.next_update(rng, cart, page));
    ASSERT_TRUE(payload.contains("page") != payload.contains("items")) << payload;
    if (payload.contains("page")) {
      EXPECT_LE(payload["page"].get<std::string>().size(), kMaxPageBytes);
    } else {
      EXPECT_LE(payload["items"].size(), kMaxCartItems);
      for (const auto& item : payload["items"]) {
        EXPECT_GE(item["qty"].get<int>(), 1);
        EXPECT_LE(item["qty"].get<std::uint32_t>(), kMaxQty);
      }
    }
  }
  const nlohmann::json join = nlohmann::json::parse(model.join_payload(cart, page));
  EXPECT_EQ(join["page"], catalogue.page(page));
  EXPECT_EQ(join["items"].size(), cart.items.size());
}

}  // namespace
}  // namespace presence::sim
