"""Stored configuration: health tolerance overrides (Kiali's health_config.rate)."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import models

from graph.health import Rule, Tolerance, code_pattern


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
