import { svg } from './dom.ts'

/**
 * A per-minute bar chart (SVG, no library). Screen readers get the figures in the label, so the
 * chart is one image with a text alternative rather than 60 unlabeled bars.
 */
export function minuteChart(series: readonly { values: readonly number[]; className: string }[], label: string): SVGElement {
  const width = 300
  const height = 60
  const minutes = series[0]?.values.length ?? 0
  const peak = Math.max(1, ...series.flatMap((entry) => entry.values))
  const barWidth = width / Math.max(1, minutes)
  const bars: SVGElement[] = []
  series.forEach((entry, index) => {
    entry.values.forEach((value, minute) => {
      if (value === 0) return
      const barHeight = Math.max(2, (value / peak) * (height - 4))
      const slot = barWidth / series.length
      bars.push(svg('rect', { class: entry.className, x: (minute * barWidth + index * slot).toFixed(2), y: (height - barHeight).toFixed(2), width: Math.max(1, slot - 0.5).toFixed(2), height: barHeight.toFixed(2) }))
    })
  })
  const axis = svg('line', { class: 'axis', x1: 0, y1: height - 0.5, x2: width, y2: height - 0.5 })
  return svg('svg', { class: 'chart', viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: 'none', role: 'img', 'aria-label': label }, axis, ...bars)
}
