import { describe, expect, it } from 'vitest'
import { handshakeReply } from '../../../lib/sources/handshake.ts'

describe('provider handshakes', () => {
  it('answers Slack url_verification with the challenge', () => {
    const body = { token: 'Jhj5dZrVaK7ZwHHjRyZWjbDl', challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P', type: 'url_verification' }
    const reply = handshakeReply('slack', body)
    expect(reply).toEqual({ statusCode: 200, contentType: 'application/json', body: JSON.stringify({ challenge: body.challenge }) })
  })

  it('leaves ordinary Slack events to the normal flow', () => {
    expect(handshakeReply('slack', { type: 'event_callback', event_id: 'Ev1' })).toBeUndefined()
    expect(handshakeReply('slack', { type: 'url_verification' })).toBeUndefined()
  })

  it('answers nothing for other schemes, even with a look-alike body', () => {
    expect(handshakeReply('github', { type: 'url_verification', challenge: 'x' })).toBeUndefined()
    expect(handshakeReply('slack', 'url_verification')).toBeUndefined()
  })
})
