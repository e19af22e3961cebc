import jsonata from 'jsonata'

interface Node {
  type: string
  value?: unknown
  steps?: Node[]
  lhs?: Node | [Node, Node][]
  rhs?: Node
  condition?: Node
  then?: Node
  else?: Node
  arguments?: Node[]
  expressions?: Node[]
  expression?: Node
}

/**
 * The field names an expression reads from the ROOT of its input that are not among `roots`.
 * Such a path can never match (the input has exactly those fields), which is almost always a
 * literal written without quotes: `recordType: issue` reads the field `issue`, `'issue'` is the
 * text. Names inside predicates and later path steps are relative to their context: not checked.
 */
export function unknownRootFields(source: string, roots: readonly string[]): string[] {
  let ast: Node
  try {
    ast = jsonata(source).ast() as Node
  } catch {
    return [] // syntax errors are reported by the schema's own check
  }
  const found = new Set<string>()
  const visit = (node: Node | undefined): void => {
    if (!node) return
    switch (node.type) {
      case 'name':
        if (typeof node.value === 'string' && !roots.includes(node.value)) found.add(node.value)
        return
      case 'path':
        return visit(node.steps?.[0])
      case 'binary':
        visit(node.lhs as Node)
        return visit(node.rhs)
      case 'condition':
        visit(node.condition)
        visit(node.then)
        return visit(node.else)
      case 'function':
      case 'partial':
        return node.arguments?.forEach(visit)
      case 'block':
        return node.expressions?.forEach(visit)
      case 'bind':
        return visit(node.rhs)
      case 'unary':
        if (node.value === '[') return node.expressions?.forEach(visit)
        if (node.value === '{') return (node.lhs as [Node, Node][] | undefined)?.forEach(([key, value]) => (visit(key), visit(value)))
        return visit(node.expression)
    }
  }
  visit(ast)
  return [...found]
}

/** The config message for such fields: what was read, and how to write the literal instead. */
export function unknownRootMessage(source: string, fields: string[], roots: readonly string[]): string {
  const list = fields.map((field) => `"${field}"`).join(', ')
  const literal = fields.length === 1 && source.trim() === fields[0] ? ` For the text ${fields[0]}, quote it: "'${fields[0]}'".` : ''
  return `reads ${list} from the root of {${roots.join(', ')}}, where ${fields.length === 1 ? 'it' : 'they'} can never match.${literal} JSONata literals need quotes; paths start at ${roots.map((root) => `${root}.`).join(' or ')}`
}
