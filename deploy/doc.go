// Package deploy holds what operators deploy Vigil with: a Grafana
// dashboard and Prometheus alerting rules (deploy/grafana,
// prometheus-alerts.yaml). Its tests check that every query names a metric
// Vigil exports, and that the Dockerfile and the packages keep their
// promises (static, non-root, healthcheck, unit, user).
package deploy
