// The cohort page's chart (analytics/cohorts.html): new and returning buyers stacked, lost members below the
// axis, per month; drawn by ECharts from the figures the page embeds with json_script.
(function () {
  const element = document.getElementById("chart-flows");
  const source = document.getElementById("cohort-flows");
  if (!element || !source || typeof echarts === "undefined") {
    return;
  }
  const data = JSON.parse(source.textContent);
  const chart = echarts.init(element);
  chart.setOption({
    color: ["#15803d", "#1d4ed8", "#b91c1c"],
    tooltip: {
      trigger: "axis",
      valueFormatter: value => Math.abs(value)
    },
    legend: {top: 0},
    grid: {left: 50, right: 20, top: 36, bottom: 30},
    xAxis: {type: "category", data: data.months},
    yAxis: {type: "value", minInterval: 1, axisLabel: {formatter: value => Math.abs(value)}},
    series: [
      {name: data.labels.new, type: "bar", stack: "buyers", data: data.new},
      {name: data.labels.returning, type: "bar", stack: "buyers", data: data.returning},
      {name: data.labels.lost, type: "bar", stack: "lost", data: data.lost.map(n => -n)}
    ]
  });
  window.addEventListener("resize", () => chart.resize());
})();
