// GET /api/models: the models the workflow can use, as the seed's AVAILABLE_MODELS
// lists them: {id, name, runner_name, description, versions, ready, params_schema}.
// One entry per model name (its loaded versions listed, the highest first).
#include <map>

#include "api/routes/api_common.h"
#include "api/routes/routes.h"
#include "runners/runner_registry.h"

namespace infera {

namespace {

nlohmann::json ListModels(const ApiContext& ctx) {
  std::map<std::string, std::vector<std::shared_ptr<Model>>> by_name;
  for (auto& m : ctx.models->List()) by_name[m->config().name].push_back(m);
  nlohmann::json list = nlohmann::json::array();
  for (auto& [name, versions] : by_name) {
    const Model& latest = *versions.back();  // List() is by name then version
    nlohmann::json v = nlohmann::json::array();
    for (auto it = versions.rbegin(); it != versions.rend(); ++it)
      v.push_back((*it)->config().version);
    list.push_back({{"id", name},
                    {"name", name},
                    {"runner_name", latest.config().runner},
                    {"description", latest.config().description},
                    {"versions", std::move(v)},
                    {"version", latest.config().version},
                    {"ready", true},
                    {"params_schema", latest.runner().params_schema()}});
  }
  if (ctx.manager != nullptr) {  // known but not loaded (explicit model control)
    for (const ModelState& s : ctx.manager->Index(false)) {
      if (by_name.count(s.name)) continue;
      nlohmann::json entry = {{"id", s.name},
                              {"name", s.name},
                              {"runner_name", ""},
                              {"description", ""},
                              {"versions", nlohmann::json::array()},
                              {"ready", false},
                              {"state", s.state},
                              {"reason", s.reason}};
      if (StatusOr<ModelConfig> config = ctx.manager->FindConfig(s.name); config.ok()) {
        entry["runner_name"] = config->runner;
        entry["description"] = config->description;
        if (const Runner* runner = FindRunner(config->runner)) {
          entry["params_schema"] = runner->params_schema();
        }
      }
      list.push_back(std::move(entry));
    }
  }
  return list;
}

}  // namespace

void AddApiModelRoutes(Router& router, const ApiContext& ctx) {
  router.Add("GET", "/api/models", [ctx](HttpRequest&&, Responder respond) {
    respond(JsonResponse(
        200, nlohmann::json{{"models", ListModels(ctx)}, {"runners", RunnerNames()}}.dump()));
  });
}

}  // namespace infera
