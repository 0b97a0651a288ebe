"""Deployments in a model block: parsed into the plan, and every misuse with its exact message
and place."""

from __future__ import annotations

from test_lang_check import errors, write

import pytest

import steerdsl
from steerdsl.lang.diagnostics import SpecError
from steerdsl.plan.model import DeploymentPlan

MODEL = ('model m {\n  litellm "openai/x"\n  route least_busy\n'
         '  deployment { api_base "http://a/v1"  api_key env KEY_A  rpm 500 }\n'
         '  deployment { api_base "http://b/v1"  tpm 200000 }\n}\n')


def test_deployments_and_route_fill_the_plan(tmp_path):
    model = steerdsl.load(write(tmp_path, model=MODEL)).plan().model("m")
    assert model.route == "least-busy" and model.api_base is None
    assert model.deployments == [
        DeploymentPlan(api_base="http://a/v1", api_key_env="KEY_A", rpm=500),
        DeploymentPlan(api_base="http://b/v1", tpm=200000)]


def test_route_defaults_to_shuffle(tmp_path):
    model = steerdsl.load(write(tmp_path, model=MODEL.replace("  route least_busy\n", "")))
    assert model.plan().model("m").route == "simple-shuffle"


def test_every_misuse_of_deployments(tmp_path):
    model = ('model m {\n  litellm "openai/x"\n  api_base "http://z/v1"\n  api_key env K\n'
             '  deployment { api_base "http://a/v1" rpm 0 rpm 2 }\n'
             '  deployment { api_base "http://a/v1" api_key env A api_key env B }\n'
             '  deployment { tpm 1.5 }\n}\n')
    assert errors(tmp_path, model=model) == [
        "19:3: model 'm' has deployments: write api_base in each deployment, not in the model",
        "20:3: model 'm' has deployments: write api_key env VARIABLE in each deployment, not in "
        "the model",
        "21:43: 'rpm' must be at least 1, got 0",
        "21:45: 'rpm' is set twice in this deployment (first at line 21)",
        "22:25: api_base \"http://a/v1\" is in two deployments of model 'm' (first at line 21)",
        "22:53: 'api_key' is set twice in this deployment",
        "23:3: a deployment needs api_base \"URL\"",
        "23:20: 'tpm' takes a whole number, got 1.5",
    ]


def test_deployments_only_on_litellm_models_and_route_needs_them(tmp_path):
    local = 'model m {\n  local "smollm2"\n  deployment { api_base "http://a/v1" }\n}\n'
    assert errors(tmp_path, model=local) == [
        "19:3: a local model has no deployments (only litellm models do)"]
    route = 'model m {\n  litellm "openai/x"\n  route shuffle\n}\n'
    assert errors(tmp_path, model=route) == [
        "19:3: 'route' spreads requests over deployments: add deployment { api_base \"URL\" } "
        "blocks"]


def test_a_key_written_in_a_deployment_is_an_error_and_never_shown(tmp_path):
    model = ('model m {\n  litellm "openai/x"\n'
             '  deployment { api_base "http://a/v1" api_key "sk-DO-NOT-PRINT" }\n}\n')
    with pytest.raises(SpecError) as info:
        steerdsl.load(write(tmp_path, model=model))
    assert "DO-NOT-PRINT" not in info.value.render()
    got = [f"{d.span.line}:{d.span.col}: {d.text}" for d in info.value.diagnostics]
    assert got == ["19:39: API keys must not be written in a spec (the key is not shown here): "
                   "use api_key env VARIABLE and set the variable"]


def test_batch_on_is_not_for_a_model_with_deployments(tmp_path):
    """A batch job goes to one endpoint; the Router spreads single requests: the checker says
    so at the batch setting (batch off is fine)."""
    batch = MODEL.replace("  route least_busy\n", "  batch on\n")
    assert errors(tmp_path, model=batch) == [
        "19:3: batch on sends requests as provider batch jobs to one endpoint, and model 'm' "
        "spreads requests over deployments: a batch job is not routed (use batch on in a model "
        "block of one deployment's api_base, or drop it)"]
    off = write(tmp_path, model=MODEL.replace("  route least_busy\n", "  batch off\n"))
    assert not steerdsl.load(off).plan().model("m").batch
