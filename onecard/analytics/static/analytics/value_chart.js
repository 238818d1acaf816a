// The lifetime-value page's chart (analytics/value.html): members per band of predicted value, from json_script.
(function () {
  const element = document.getElementById("chart-value-bands");
  const source = document.getElementById("value-band-data");
  if (!element || !source || typeof echarts === "undefined") { return; }
  const bands = JSON.parse(source.textContent);
  const chart = echarts.init(element);
  chart.setOption({
    color: ["#1d4ed8"], tooltip: {trigger: "axis"}, grid: {left: 50, right: 20, top: 20, bottom: 60},
    xAxis: {type: "category", data: bands.map(b => b.band), axisLabel: {interval: 0, fontSize: 11, rotate: 20}},
    yAxis: {type: "value", minInterval: 1},
    series: [{type: "bar", data: bands.map(b => b.members)}]
  });
  window.addEventListener("resize", () => chart.resize());
})();
