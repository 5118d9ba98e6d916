"""Stored configuration: health tolerance overrides (Kiali's health_config.rate) and the
data sources read besides PROMETHEUS_URL."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

from graph.health import Rule, Tolerance, code_pattern
from graph.options import LABEL_VALUE


def validate_regex(value: str) -> None:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValidationError(f"{value!r} is not a regular expression: {exc}") from None


def validate_code(value: str) -> None:
    try:
        code_pattern(value)
    except re.error as exc:
        raise ValidationError(f"{value!r} is not a code pattern: {exc}") from None


class HealthRule(models.Model):
    """Tolerances for the nodes whose namespace, kind and name match; the first rule in
    `position` order that matches a node is the one used (as in Kiali)."""

    position = models.PositiveIntegerField(default=0, help_text="Lower comes first.")
    namespace = models.CharField(max_length=200, default=".*", validators=[validate_regex],
                                 help_text="Regular expression, e.g. bookinfo|shop")
    kind = models.CharField(max_length=200, default=".*", validators=[validate_regex],
                            help_text="Regular expression over workload, app, service")
    name = models.CharField(max_length=200, default=".*", validators=[validate_regex],
                            help_text="Regular expression over the workload/app/service name")
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ("position", "id")

    def __str__(self) -> str:
        return f"#{self.position} {self.namespace} / {self.kind} / {self.name}"

    def to_rule(self) -> Rule:
        return Rule(tuple(t.to_tolerance() for t in self.tolerances.all()),
                    namespace=self.namespace, kind=self.kind, name=self.name)


class HealthTolerance(models.Model):
    rule = models.ForeignKey(HealthRule, on_delete=models.CASCADE, related_name="tolerances")
    code = models.CharField(max_length=100, validators=[validate_code],
                            help_text="Response codes: 5XX, 4XX, a regular expression, or ^-$ "
                                      "for no response")
    protocol = models.CharField(max_length=50, default="http", validators=[validate_regex],
                                help_text="http, grpc or a regular expression")
    direction = models.CharField(max_length=50, default=".*", validators=[validate_regex],
                                 help_text="inbound, outbound or .*")
    degraded = models.FloatField(default=0, help_text="Error % from which it is Degraded")
    failure = models.FloatField(default=10, help_text="Error % from which it is a Failure")

    def __str__(self) -> str:
        return f"{self.protocol} {self.code}: {self.degraded}% / {self.failure}%"

    def clean(self) -> None:
        if self.failure < self.degraded:
            raise ValidationError("failure must be at or above degraded")
        if not 0 <= self.degraded <= 100 or not 0 <= self.failure <= 100:
            raise ValidationError("percentages go from 0 to 100")

    def to_tolerance(self) -> Tolerance:
        return Tolerance(code=self.code, protocol=self.protocol, direction=self.direction,
                         degraded=self.degraded, failure=self.failure)


DEFAULT_SOURCE = "default"  # PROMETHEUS_URL's name: always there, not stored


def validate_source_name(value: str) -> None:
    if value == DEFAULT_SOURCE:
        raise ValidationError(f"{DEFAULT_SOURCE!r} is PROMETHEUS_URL's name; choose another")
    if not LABEL_VALUE.fullmatch(value):
        raise ValidationError(f"{value!r} is not a name (letters, digits, '-', '_', '.')")


def validate_dialects(value: str) -> None:
    from graph.sources import DIALECTS

    names = dialect_list(value)
    unknown = [n for n in names if n not in DIALECTS]
    if unknown or len(set(names)) != len(names):
        raise ValidationError(f"{value!r}: give distinct dialects from "
                              f"{', '.join(sorted(DIALECTS))}, or leave empty to detect them")


def dialect_list(value: str) -> list[str]:
    return [n.strip() for n in value.split(",") if n.strip()]


class DataSource(models.Model):
    """A Prometheus server read besides PROMETHEUS_URL (the source named `default`)."""

    name = models.CharField(max_length=63, unique=True, validators=[validate_source_name],
                            help_text="Named in the API's sources= and in the graph's "
                                      "`sources` field")
    position = models.PositiveIntegerField(default=0, help_text="Lower comes first (after "
                                           "default) when two sources are equally detailed.")
    url = models.URLField(max_length=500, verbose_name="Prometheus URL",
                          help_text="e.g. https://prometheus.example:9090")
    token = models.CharField(max_length=2000, blank=True, verbose_name="bearer token")
    username = models.CharField(max_length=200, blank=True,
                                help_text="Basic auth (leave empty for none)")
    password = models.CharField(max_length=200, blank=True)
    ca_file = models.CharField(max_length=500, blank=True, verbose_name="CA bundle",
                               help_text="Path of a PEM file on the server")
    verify = models.BooleanField(default=True, verbose_name="verify TLS certificates")
    default_namespace = models.CharField(
        max_length=63, blank=True, validators=[RegexValidator(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")],
        help_text="Namespace of telemetry that names none (trace-derived metrics); empty: "
                  "MESHLENS_TRACES_NAMESPACE")
    dialects = models.CharField(max_length=200, blank=True, validators=[validate_dialects],
                                help_text="Comma list to force (e.g. istio,linkerd); empty: "
                                          "detected from the metric names")
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ("position", "name")

    def __str__(self) -> str:
        return f"{self.name} ({self.url})"

    def clean(self) -> None:
        if self.token and self.username:
            raise ValidationError("give a bearer token or basic auth, not both")
        if self.password and not self.username:
            raise ValidationError("a password needs a username")


# Access models live in their own module; Django finds them through this one.
from dashboard.access_models import ApiToken, NamespaceAccess  # noqa: E402

__all__ = ["ApiToken", "DataSource", "HealthRule", "HealthTolerance", "NamespaceAccess"]
