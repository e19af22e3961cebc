import { describe, expect, it } from 'vitest'
import { parseBody } from '../../../lib/sources/parse-body.ts'
import { expectSourceError } from './expect-source-error.ts'

const bytes = (text: string) => Buffer.from(text, 'utf8')

describe('JSON bodies', () => {
  it('parses application/json with or without a charset', () => {
    expect(parseBody('application/json', bytes('{"id":1}'))).toEqual({ id: 1 })
    expect(parseBody('Application/JSON; charset=UTF-8', bytes('{"id":"é"}'))).toEqual({ id: 'é' })
  })

  it('parses +json types', () => {
    expect(parseBody('application/cloudevents+json', bytes('{"type":"x"}'))).toEqual({ type: 'x' })
  })

  it('answers 400 for malformed JSON without quoting the body', () => {
    const error = expectSourceError(() => parseBody('application/json', bytes('{"card":"4242 4242"')), 'source.body_unparseable')
    expect(error.statusCode).toBe(400)
    expect(error.message).not.toContain('4242')
  })

  it('answers 400 for bytes that are not valid in the charset', () => {
    expectSourceError(() => parseBody('application/json', Buffer.from([0x22, 0xff, 0x22])), 'source.body_unparseable')
  })

  it('keeps a "__proto__" key as data', () => {
    const parsed = parseBody('application/json', bytes('{"__proto__":{"polluted":true}}')) as Record<string, unknown>
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined()
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype)
  })
})

describe('form-encoded bodies', () => {
  const form = 'application/x-www-form-urlencoded'

  it('parses fields into an object, repeated fields into an array', () => {
    expect(parseBody(form, bytes('command=%2Fdeploy&text=a+b&tag=x&tag=y'))).toEqual({ command: '/deploy', text: 'a b', tag: ['x', 'y'] })
  })

  it('parses a payload field holding JSON (Slack interactivity, GitHub form deliveries)', () => {
    const payload = encodeURIComponent(JSON.stringify({ type: 'block_actions', user: { id: 'U1' } }))
    expect(parseBody(`${form}; charset=utf-8`, bytes(`payload=${payload}`))).toEqual({ payload: { type: 'block_actions', user: { id: 'U1' } } })
  })

  it('leaves a payload field that is plain text as text', () => {
    expect(parseBody(form, bytes('payload=hello'))).toEqual({ payload: 'hello' })
  })

  it('answers 400 for a payload field that looks like JSON but is not', () => {
    expectSourceError(() => parseBody(form, bytes('payload=%7Bbroken')), 'source.body_unparseable')
  })

  it('cannot change the prototype through a "__proto__" field', () => {
    const parsed = parseBody(form, bytes('__proto__=x&a=1')) as Record<string, unknown>
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype)
    expect(Object.keys(parsed)).toEqual(['__proto__', 'a'])
  })
})

describe('XML bodies', () => {
  // A Salesforce outbound message: https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_om_outboundmessaging_wsdl.htm
  const soap = `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <soapenv:Body>
  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">
   <OrganizationId>00D000000000062EAA</OrganizationId>
   <Notification>
    <Id>04l000000000001AAA</Id>
    <sObject xsi:type="sf:Account" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">
     <sf:Id>0010000000000A1AAA</sf:Id>
     <sf:Name>Acme &amp; Caf&#233;</sf:Name>
     <sf:AccountNumber>00123</sf:AccountNumber>
    </sObject>
   </Notification>
  </notifications>
 </soapenv:Body>
</soapenv:Envelope>`

  it('parses SOAP with namespace prefixes stripped and values kept as text', () => {
    const parsed = parseBody('text/xml; charset=utf-8', bytes(soap))
    const sObject = ['Envelope', 'Body', 'notifications', 'Notification', 'sObject'].reduce<unknown>(
      (node, key) => (node as Record<string, unknown>)[key],
      parsed,
    )
    expect(sObject).toMatchObject({ Id: '0010000000000A1AAA', Name: 'Acme & Café', AccountNumber: '00123', '@type': 'sf:Account' })
  })

  it('accepts application/xml and application/soap+xml', () => {
    expect(parseBody('application/xml', bytes('<a><b>1</b></a>'))).toEqual({ a: { b: '1' } })
    expect(parseBody('application/soap+xml', bytes('<a><b>1</b></a>'))).toEqual({ a: { b: '1' } })
  })

  it('refuses a DOCTYPE, so no entity is ever expanded', () => {
    const bomb = '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "xxxxxxxx"><!ENTITY y "&x;&x;&x;&x;">]><a>&y;</a>'
    expectSourceError(() => parseBody('text/xml', bytes(bomb)), 'source.body_unparseable')
  })

  it('answers 400 for malformed XML', () => {
    expectSourceError(() => parseBody('text/xml', bytes('<a><b></a>')), 'source.body_unparseable')
  })
})

describe('other bodies', () => {
  it('treats an empty body as an empty object, whatever the type', () => {
    expect(parseBody(undefined, Buffer.alloc(0))).toEqual({})
    expect(parseBody('application/octet-stream', Buffer.alloc(0))).toEqual({})
  })

  it('answers 415 for an unsupported or missing content type', () => {
    expect(expectSourceError(() => parseBody('text/plain', bytes('hi')), 'source.unsupported_media_type').statusCode).toBe(415)
    expectSourceError(() => parseBody(undefined, bytes('{}')), 'source.unsupported_media_type')
    expectSourceError(() => parseBody('application/json; charset=klingon', bytes('{}')), 'source.unsupported_media_type')
  })

  it('decodes a declared charset other than UTF-8', () => {
    expect(parseBody('application/x-www-form-urlencoded; charset=iso-8859-1', Buffer.from('name=caf\xe9', 'latin1'))).toEqual({ name: 'café' })
  })
})
