// The "bought with" page's chart (analytics/basket/product.html): each partner's confidence as a bar,
// drawn by ECharts from the figures the page embeds with json_script.
(function () {
  const el = document.getElementById("chart-bought-with");
  if (!el) return;
  const rows = JSON.parse(document.getElementById("bought-with-data").textContent).slice().reverse();
  const chart = echarts.init(el);
  chart.setOption({
    color: ["#1d4ed8"], tooltip: {trigger: "axis", valueFormatter: v => v + "%"},
    grid: {left: 120, right: 30, top: 10, bottom: 30},
    xAxis: {type: "value", max: 100, axisLabel: {formatter: "{value}%"}},
    yAxis: {type: "category", data: rows.map(r => r.name)},
    series: [{type: "bar", data: rows.map(r => r.confidence)}]
  });
  window.addEventListener("resize", () => chart.resize());
})();
