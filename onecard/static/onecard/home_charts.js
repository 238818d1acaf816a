// The home dashboard's charts (home.html), drawn by ECharts from the figures the page embeds with json_script.
(function () {
  const read = id => JSON.parse(document.getElementById(id).textContent);
  const color = ["#c2410c", "#1d4ed8", "#15803d", "#b45309", "#7c3aed", "#6b7280"];
  const charts = [];
  const trend = read("trend-data");
  charts.push(echarts.init(document.getElementById("chart-trend")));
  charts[0].setOption({
    color, tooltip: {trigger: "axis"}, grid: {left: 50, right: 20, top: 20, bottom: 30},
    xAxis: {type: "category", data: trend.map(r => r.month)}, yAxis: {type: "value", minInterval: 1},
    series: [{type: "line", smooth: true, areaStyle: {opacity: .15}, data: trend.map(r => r.n)}]
  });
  const storesEl = document.getElementById("chart-stores");
  if (storesEl) {
    const stores = read("store-data");
    const chart = echarts.init(storesEl);
    chart.setOption({
      color, tooltip: {trigger: "axis"}, grid: {left: 110, right: 20, top: 10, bottom: 30},
      xAxis: {type: "value", minInterval: 1}, yAxis: {type: "category", data: stores.map(r => r.store).reverse()},
      series: [{type: "bar", data: stores.map(r => r.n).reverse()}]
    });
    charts.push(chart);
  }
  const sourceEl = document.getElementById("chart-source");
  if (sourceEl) {
    const sources = read("source-data");
    const chart = echarts.init(sourceEl);
    chart.setOption({
      color, tooltip: {trigger: "item"},
      series: [{type: "pie", radius: ["40%", "70%"], data: sources.map(r => ({name: r.source, value: r.n}))}]
    });
    charts.push(chart);
  }
  window.addEventListener("resize", () => charts.forEach(c => c.resize()));
})();
